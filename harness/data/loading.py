"""`load_cases`: FLARE records from a directory, JSON files, the demo set or the Hugging Face Hub.

>>> cases = load_cases("demo")                     # doctest: +SKIP
>>> cases = load_cases("/data/FLARE", split="train")  # doctest: +SKIP
>>> cases = load_cases([("CT-AMOS-Tr.json", "amos/"), ("CT-RATE-Tr .json", "rate/")])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from harness.data.records import Case
from harness.data.validate import RecordError, check_inside, validate_records
from harness.errors import HarnessError

HUB_ID = "FLARE-MedFM/FLARE-Task5-MLLM-3D"
SPLITS = {
    "train": {"train", "training", "tr"},
    "validation": {"validation", "val", "valid", "vl"},
    "test": {"test", "testing", "ts"},
}

Source = str | Path | tuple[str | Path, str | Path]


def cache_dir() -> Path:
    """Where the harness keeps generated data: $HARNESS_CACHE, else ~/.cache/med3d-harness."""
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "med3d-harness")


def load_cases(data: str | Path | Sequence[Source], *, split: str | None = None) -> list[Case]:
    """Read and validate FLARE records into `Case` objects with absolute image paths.

    ``data``: a directory (its JSON files; ``split`` picks them by name), a JSON file (images next
    to it, or in an ``images/`` folder beside it), ``"demo"`` (the synthetic set, generated once in
    `cache_dir()`; validation split unless ``split`` says otherwise), the hub id
    ``FLARE-MedFM/FLARE-Task5-MLLM-3D``, or a list of those and of ``(json, image_root)`` pairs
    (``"json=image_root"`` as text), each JSON with its own image root.
    """
    files = _resolve(data, split)
    cases: list[Case] = []
    owner: dict[str, str] = {}
    for json_path, root in files:
        for case in read_json(json_path, root):
            if case.case_id in owner:
                raise RecordError(
                    f"{json_path}: case {case.case_id}: case_id: duplicate of the case in {owner[case.case_id]}"
                )
            owner[case.case_id] = str(json_path)
            cases.append(case)
    return cases


def read_records(json_path: str | Path) -> list[dict]:
    """The raw records of one FLARE JSON file, validated (errors name the file, case and field)."""
    json_path = Path(json_path)
    try:
        records = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"{json_path}: no such file; pass an existing FLARE JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{json_path}: malformed JSON ({exc}); fix the file or download it again") from None
    validate_records(records, source=str(json_path))
    return records


def read_json(json_path: str | Path, image_root: str | Path | None = None) -> list[Case]:
    """One FLARE JSON file into validated cases; images resolve against ``image_root``."""
    json_path = Path(json_path)
    records = read_records(json_path)
    root = Path(image_root) if image_root is not None else _guess_root(json_path, records)
    cases = []
    for record in records:
        case = Case.from_json(record, image_root=root.absolute(), source=str(json_path))
        check_inside(case.image, root, source=str(json_path), case_id=case.case_id)
        cases.append(case)
    return cases


def _guess_root(json_path: Path, records: list[dict]) -> Path:
    """The JSON's folder, or an ``images``/``imagesTr``-like folder beside it holding the first case."""
    candidates = [json_path.parent / "images", json_path.parent]
    candidates += sorted(p for p in json_path.parent.glob("images*") if p.is_dir())
    if records:
        for root in candidates:
            if (root / records[0]["case_id"]).exists():
                return root
    return json_path.parent


def _resolve(data: str | Path | Sequence[Source], split: str | None) -> list[tuple[Path, Path | None]]:
    if isinstance(data, tuple) and len(data) == 2 and str(data[0]).endswith(".json"):
        return [(Path(data[0]), Path(data[1]))]
    if isinstance(data, (list, tuple)):
        return [item for entry in data for item in _resolve(entry, split)]
    text = str(data)
    if "=" in text and text.split("=", 1)[0].endswith(".json"):
        json_part, root = text.split("=", 1)
        return [(Path(json_part), Path(root))]
    if text == "demo":
        return _directory(_demo_dir(), split or "validation")
    path = Path(text).expanduser()
    if path.is_file():
        return [(path, None)]
    if path.is_dir():
        return _directory(path, split)
    if text == HUB_ID:
        return _directory(download(text), split)
    raise HarnessError(f"data {text!r} not found: pass a directory, a FLARE JSON file, 'demo', or {HUB_ID}")


def _tokens(path: Path) -> set[str]:
    return {t for part in path.parts for t in re.split(r"[^a-z0-9]+", part.lower().removesuffix(".json")) if t}


def _directory(root: Path, split: str | None) -> list[tuple[Path, Path | None]]:
    """The record files of a data directory, restricted to ``split`` when given."""
    found = []
    for path in sorted(root.rglob("*.json")):
        if path.name.startswith(".") or "/." in path.relative_to(root).as_posix():
            continue
        if path.read_text(encoding="utf-8", errors="replace").lstrip()[:1] != "[":
            continue  # not a record list (a manifest, a config)
        found.append(path)
    if split is not None:
        if split not in SPLITS:
            raise HarnessError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        found = [p for p in found if _tokens(p.relative_to(root)) & SPLITS[split]]
    if not found:
        which = f" for split {split!r}" if split else ""
        raise HarnessError(f"{root}: no FLARE JSON record files{which}; pass the folder that holds them")
    return [(p, None) for p in found]


def _demo_dir() -> Path:
    from harness.data.demo import ensure_demo

    return ensure_demo(cache_dir() / "demo")


def download(repo_id: str = HUB_ID) -> Path:
    """The local snapshot of the FLARE data set (downloaded into the Hugging Face cache if needed)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached: try the network below
        pass
    try:
        return Path(snapshot_download(repo_id, repo_type="dataset"))
    except Exception as exc:  # noqa: BLE001 - any hub/network failure is the same user message
        raise HarnessError(
            f"cannot download {repo_id} from the Hugging Face Hub ({type(exc).__name__}); connect once "
            "(and accept its terms), pass a local copy with --data DIR, or use --data demo"
        ) from None
