"""The example task's own data format: one JSON Lines file per split, one case per line.

    {"case_id": "lesions_000", "image": "images/lesions_000.npz", "question": "How many ...?", "answer": "2"}

``image`` is a path relative to the file (a raw ``.nii.gz`` in HU, or a processed ``.npy``/``.npz`` volume in
[0, 1], as `harness.data.prepare_image` reads them); ``answer`` is a whole number of lesions, written in digits.
A data argument is such a file, a folder holding ``<split>.jsonl``, or the name of the shipped demo set.

    >>> from harness_plugin_example.data import read_cases, shipped_demo
    >>> cases = read_cases(shipped_demo() / "validation.jsonl")
    >>> cases[0].case_id, cases[0].answer
    ('lesions_000', '3')
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError

DEMO_NAME = "example-demo"
DEFAULT_SPLIT = "validation"
FIELDS = ("case_id", "image", "question", "answer")
QUESTION = "How many lesions are in this volume? Answer with a number."
VOLUME_SHAPE = (16, 32, 32)
"""(D, H, W) of the demo volumes; the model's own input size is reached by the harness's resize."""


@dataclass(frozen=True)
class LesionCase:
    """One case: what the core reads (``case_id``, ``image``) and what this task adds."""

    case_id: str
    image: Path
    question: str
    answer: str


def shipped_demo() -> Path:
    """The folder of the demo set installed with this package (written by `write_demo` with seed 0)."""
    return Path(str(resources.files("harness_plugin_example") / "demo"))


def resolve(data: Any, split: str | None) -> tuple[Path, str, str]:
    """(records file, split, data set name) of a data argument: a .jsonl file, a folder, or ``example-demo``."""
    split = split or DEFAULT_SPLIT
    if str(data) == DEMO_NAME:
        return _split_file(shipped_demo(), split, DEMO_NAME), split, DEMO_NAME
    path = Path(data)
    if path.is_dir():
        return _split_file(path, split, path.name), split, path.name
    if path.is_file():
        return path, split, path.stem
    raise HarnessError(f"--data {data}: no such file or folder; pass a .jsonl file, a folder with {split}.jsonl, "
                       f"or {DEMO_NAME}")


def _split_file(folder: Path, split: str, name: str) -> Path:
    path = folder / f"{split}.jsonl"
    if not path.is_file():
        found = ", ".join(sorted(p.stem for p in folder.glob("*.jsonl"))) or "none"
        raise HarnessError(f"data set {name} has no split '{split}' ({path} is missing); its splits: {found}")
    return path


def read_cases(path: Path) -> list[LesionCase]:
    """The cases of one records file, validated; a bad line is one error naming the file, the line and the fix."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path}: not UTF-8 text (byte {exc.start}); save the records as UTF-8") from None
    cases: list[LesionCase] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        case = _parse_line(line, f"{path}:{number}", path.parent)
        if case.case_id in seen:
            raise HarnessError(f"{path}:{number}: case_id '{case.case_id}' repeats line {seen[case.case_id]}; "
                               "give every case its own id")
        seen[case.case_id] = number
        cases.append(case)
    if not cases:
        raise HarnessError(f"{path} holds no cases; write one JSON object per line with {', '.join(FIELDS)}")
    return cases


def _parse_line(line: str, where: str, root: Path) -> LesionCase:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{where}: not JSON ({exc.msg}); write one JSON object per line") from None
    if not isinstance(record, dict):
        raise HarnessError(f"{where}: expected a JSON object with {', '.join(FIELDS)}, got {type(record).__name__}")
    missing = [key for key in FIELDS if not isinstance(record.get(key), str) or not record[key].strip()]
    if missing:
        raise HarnessError(f"{where}: needs the string field(s) {', '.join(missing)}")
    answer = record["answer"].strip()
    if not re.fullmatch(r"[0-9]+", answer):
        raise HarnessError(f"{where}: answer {record['answer']!r} is not a whole number; write the count in digits")
    return LesionCase(record["case_id"], root / record["image"], record["question"], str(int(answer)))


def identity(path: Path, split: str, name: str, n_cases: int) -> dict[str, Any]:
    """What a result file records about the data: name, split, sha256 of the records file, case count."""
    return {"name": name, "split": split, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "n_cases": n_cases, "files": [path.name]}


def lesion_volume(count: int, rng: np.random.Generator, shape: tuple[int, int, int] = VOLUME_SHAPE) -> np.ndarray:
    """A processed volume (1, D, H, W) in [0, 1]: an ellipsoid body at 0.35 holding ``count`` bright spheres."""
    z, y, x = np.meshgrid(*(np.linspace(-1, 1, s) for s in shape), indexing="ij")
    volume = np.where(z**2 / 0.9 + y**2 / 0.8 + x**2 / 0.6 <= 1, 0.35, 0.0)
    centres: list[np.ndarray] = []
    while len(centres) < count:
        centre = rng.uniform(-0.45, 0.45, size=3)
        if all(np.linalg.norm(centre - other) > 0.5 for other in centres):  # separate spheres, never merged
            centres.append(centre)
    for cz, cy, cx in centres:
        volume[(z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= 0.2**2] = 0.9
    return volume[None].astype(np.float16)


def write_demo(out: Path, *, cases: int = 6, seed: int = 0) -> Path:
    """Write ``cases`` synthetic cases (0 to 3 lesions each) to ``out/validation.jsonl`` and ``out/images/``."""
    if cases < 1:
        raise HarnessError(f"--cases {cases}: write at least one case")
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(cases):
        count = int(rng.integers(0, 4))
        case_id = f"lesions_{index:03d}"
        image = f"images/{case_id}.npz"
        np.savez_compressed(out / image, volume=lesion_volume(count, rng))
        lines.append(json.dumps({"case_id": case_id, "image": image, "question": QUESTION, "answer": str(count)}))
    (out / f"{DEFAULT_SPLIT}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
