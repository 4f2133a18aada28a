"""`load_cases` / `load_data`: FLARE records from a folder, JSON files, a named data set or a Hub id.

>>> cases = load_cases("demo")                                   # doctest: +SKIP
>>> cases = load_cases("/data/FLARE", split="train")             # doctest: +SKIP
>>> cases = load_cases("FLARE-MedFM/FLARE26-MLLM-3D")            # doctest: +SKIP
>>> cases = load_cases([("CT-AMOS-Tr.json", "amos/"), "CT-RATE-Tr .json=rate/"])  # doctest: +SKIP
>>> loaded = load_data("flare2026", split="validation")          # doctest: +SKIP
>>> loaded.identity["revision"], loaded.identity["sha256"]       # doctest: +SKIP

Without ``split`` a folder, a named data set or a Hub id gives its validation split; ``split="all"``
gives every record file. The split actually used is in ``identity["split"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.paths import cache_root
from harness.task import LoadedData
from harness_plugins.tasks.flare.catalog import DATASETS, find_dataset
from harness_plugins.tasks.flare.layout import (
    ALL,
    DEFAULT_SPLIT,
    check_split,
    find_image_root,
    guess_image_root,
    load_json,
    record_files,
    split_of,
)
from harness_plugins.tasks.flare.records import Case
from harness_plugins.tasks.flare.validate import RecordError, check_inside, validate_records

Source = str | Path | tuple[str | Path, str | Path]


@dataclass
class DataSource:
    """A data argument resolved to record files (each with its image root, or None: look for it)."""

    name: str
    split: str
    files: list[tuple[Path, Path | None]]
    root: Path | None = None
    """The data folder the record files are in, when there is one."""
    hub_id: str | None = None
    revision: str | None = None
    container: Path | None = None
    """Resolved image paths must stay inside this folder (default: each file's image root). For a Hub
    snapshot it is the repository's cache folder, whose ``blobs/`` the snapshot's links point into."""


def load_cases(data: str | Path | Sequence[Source], *, split: str | None = None) -> list[Case]:
    """Read and validate FLARE records into `Case` objects with absolute image paths (see `load_data`)."""
    return load_data(data, split=split).cases


def load_data(data: str | Path | Sequence[Source], *, split: str | None = None) -> LoadedData:
    """The cases of ``data`` and the data set's identity.

    ``data``: a folder (its record files of ``split``, default validation, each finding its images in
    the published layout), a JSON file, ``"json=image_root"`` or a ``(json, image_root)`` pair, a named
    data set (`harness list datasets`: ``demo``, ``flare2025``, ``flare2026``), a Hub id
    (``FLARE-MedFM/FLARE-Task5-MLLM-3D``, ``FLARE-MedFM/FLARE26-MLLM-3D``), or a list of these.
    """
    source = resolve_data(data, split=split)
    cases: list[Case] = []
    owner: dict[str, str] = {}
    for json_path, root in source.files:
        records = read_records(json_path)
        if root is None:
            root = find_image_root(json_path, records[0]["case_id"] if records else None)
        for case in _cases(json_path, records, root, source.container):
            if case.case_id in owner:
                raise RecordError(
                    f"{json_path}: case {case.case_id}: case_id: duplicate of the case in {owner[case.case_id]}"
                )
            owner[case.case_id] = str(json_path)
            cases.append(case)
    return LoadedData(cases, identity(source, len(cases)))


def data_identity(data: str | Path | Sequence[Source], *, split: str | None = None) -> dict[str, Any]:
    """What a result file records about its data: name, split used, Hub id and revision, sha256 of the
    record files, their names, and the number of cases."""
    return load_data(data, split=split).identity


def identity(source: DataSource, n_cases: int) -> dict[str, Any]:
    from harness.provenance import sha256_files

    paths = [path for path, _ in source.files]
    base = source.root
    names = [path.relative_to(base).as_posix() if base and path.is_relative_to(base) else path.name for path in paths]
    return {
        "name": source.name,
        "split": source.split,
        "hub_id": source.hub_id,
        "revision": source.revision,
        "sha256": sha256_files(paths) if paths else None,
        "files": sorted(names),
        "n_cases": n_cases,
    }


def read_records(json_path: str | Path) -> list[dict]:
    """The raw records of one FLARE JSON file, validated (errors name the file, case and field)."""
    json_path = Path(json_path)
    records = load_json(json_path)
    validate_records(records, source=str(json_path))
    return records  # type: ignore[return-value]


def read_json(json_path: str | Path, image_root: str | Path | None = None) -> list[Case]:
    """One FLARE JSON file into validated cases; images resolve against ``image_root`` (default: the
    folder that holds the first case's image, else the file's folder: for readers that need no image)."""
    json_path = Path(json_path)
    records = read_records(json_path)
    root = Path(image_root) if image_root is not None else guess_image_root(
        json_path, records[0]["case_id"] if records else None)
    return _cases(json_path, records, root)


def _cases(json_path: Path, records: list[dict], root: Path, container: Path | None = None) -> list[Case]:
    from harness.data.hub import cache_storage_of

    container = container or cache_storage_of(root)
    cases = []
    for record in records:
        case = Case.from_json(record, image_root=root.absolute(), source=str(json_path))
        check_inside(case.image, container or root, source=str(json_path), case_id=case.case_id)
        cases.append(case)
    return cases


def resolve_data(data: str | Path | Sequence[Source], *, split: str | None = None) -> DataSource:
    """Which record files (and image roots) ``data`` means, the split used and the data set's name."""
    if split is not None:
        check_split(split)
    if isinstance(data, tuple) and len(data) == 2 and str(data[0]).endswith(".json"):
        return _pair(Path(data[0]), Path(data[1]), split)
    if isinstance(data, (list, tuple)):
        parts = [resolve_data(entry, split=split) for entry in data]
        if not parts:
            raise HarnessError("data: an empty list; pass at least one folder, JSON file or data set name")
        splits = {p.split for p in parts}
        return DataSource(name="+".join(p.name for p in parts), split=splits.pop() if len(splits) == 1 else "mixed",
                          files=[f for p in parts for f in p.files])
    text = str(data)
    json_part, sep, root = text.partition("=")
    if sep and json_part.endswith(".json"):
        return _pair(Path(json_part), Path(root), split)
    if text == "demo":
        return _folder(_demo_dir(), split, name="demo")
    path = Path(text).expanduser()
    if path.is_file():
        return DataSource(name=path.name, split=_file_split(path, split), files=[(path, None)])
    if path.is_dir():
        return _folder(path, split, name=path.name)
    card = find_dataset(text)
    if card is not None and card.name == "demo":
        return _folder(_demo_dir(), split, name="demo")
    if card is not None and card.hub_id:
        from harness.data.hub import snapshot, storage_folder

        used = split or DEFAULT_SPLIT
        folder, revision = snapshot(card.hub_id, split=used)
        found = _folder(folder, used, name=card.name)
        found.hub_id, found.revision, found.container = card.hub_id, revision, storage_folder(folder)
        return found
    names = ", ".join(c.name for c in DATASETS)
    hub_ids = ", ".join(c.hub_id for c in DATASETS if c.hub_id)
    raise HarnessError(
        f"data {text!r} not found: pass a folder, a FLARE JSON file, a data set name ({names}) or a Hub id ({hub_ids})"
    )


def _pair(json_path: Path, root: Path, split: str | None) -> DataSource:
    return DataSource(name=json_path.name, split=_file_split(json_path, split), files=[(json_path, root)])


def _file_split(path: Path, split: str | None) -> str:
    """A record file's split: the one its name states (checked against ``split``), else ``split``, else
    "unspecified". Only the file name counts (folders like pytest's ``test_x0`` would mislead)."""
    named = split_of(Path(path.name))
    if split not in (None, ALL) and named not in (None, split):
        raise HarnessError(f"{path}: --split {split}, but the file name says {named}; pass the {split} records file")
    return named or (split if split not in (None, ALL) else "unspecified")


def _folder(root: Path, split: str | None, *, name: str) -> DataSource:
    used = split or DEFAULT_SPLIT
    return DataSource(name=name, split=used, files=[(p, None) for p in record_files(root, used)], root=root)


def _demo_dir() -> Path:
    from harness_plugins.tasks.flare.demo import ensure_demo

    return ensure_demo(cache_root() / "demo")

