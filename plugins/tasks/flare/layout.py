"""What a data folder holds: its record files per split, and the image root of each record file.

The published FLARE layout (the Hugging Face data sets, and the demo set)::

    train/CT-AMOS-1290/<images>     train/CT-AMOS-Tr.json
    train/CT-RATE-2000/<images>     train/CT-RATE-Tr.json    (FLARE 2025: "CT-RATE-Tr .json", with a space)
    validation/images/<images>      validation/val.json

    >>> split_of(Path("train/CT-RATE-Tr .json")), split_of(Path("validation/val.json")), split_of(Path("a.json"))
    ('train', 'validation', None)

A record file finds its images by looking for its first case's image in candidate folders (see
`root_candidates`); this module is the one place that knows folder layouts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.errors import HarnessError
from harness_plugins.tasks.flare.validate import RecordError

SPLITS = {
    "train": {"train", "training", "tr"},
    "validation": {"validation", "val", "valid", "vl"},
    "test": {"test", "testing", "ts"},
}
"""Split name -> the words in a folder or file name that mark it."""
ALL = "all"
"""The pseudo-split meaning every record file of the folder."""
DEFAULT_SPLIT = "validation"


def check_split(split: str) -> str:
    if split != ALL and split not in SPLITS:
        raise HarnessError(f"unknown split {split!r}; use one of {', '.join([*SPLITS, ALL])}")
    return split


def _words(path: Path) -> set[str]:
    text = " ".join(path.parts).lower().replace(".json", "")
    return {word for word in re.split(r"[^a-z0-9]+", text) if word}


def split_of(path: Path) -> str | None:
    """The split a (relative) record-file path names, or None when it names none or several."""
    found = {name for name, words in SPLITS.items() if _words(path) & words}
    return found.pop() if len(found) == 1 else None


def read_text(path: Path) -> str:
    """A JSON file's text; a UTF-8 byte-order mark is accepted (editors on Windows write one)."""
    return path.read_text(encoding="utf-8-sig")


def _is_record_list(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read ({exc.strerror}); check its permissions") from None
    return head.lstrip()[:1] == "["


def record_files(root: Path, split: str) -> list[Path]:
    """The record files of a data folder for ``split`` (``"all"``: every split), sorted.

    A JSON file whose path names the split must be a list of records: anything else (a JSON object, a
    manifest) is an error naming it rather than a silently skipped file. JSON files that name no split
    (a manifest at the top) are left out, except under ``"all"`` when they are record lists.
    """
    check_split(split)
    found = []
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        named = split_of(relative)
        if split != ALL and named != split:
            continue
        if _is_record_list(path):
            found.append(path)
        elif named is not None:
            raise RecordError(
                f"{path}: not a list of FLARE case records (a JSON object or other value); "
                "fix it, or move it out of the data folder"
            )
    if not found:
        raise HarnessError(
            f"{root}: no FLARE JSON record files for split {split!r}; pass the folder that holds them, "
            f"or another --split ({', '.join([*SPLITS, ALL])})"
        )
    return found


def _prefix(json_path: Path) -> str:
    """``CT-AMOS-Tr.json`` -> ``ct-amos``: the record file's name without its split word."""
    stem = json_path.name.removesuffix(".json").strip().lower()
    words = [w for w in re.split(r"[^a-z0-9]+", stem) if w]
    split_words = set().union(*SPLITS.values())
    while words and words[-1] in split_words:
        words.pop()
    return "-".join(words)


def root_candidates(json_path: Path) -> list[Path]:
    """Folders that may hold a record file's images, most likely first: sibling folders named like the
    file (``CT-AMOS-Tr.json`` -> ``CT-AMOS-1290/``), ``images*`` folders, the file's own folder, then
    every other sibling folder."""
    folder = json_path.parent
    listed = folder.iterdir() if folder.is_dir() else iter(())
    subdirs = sorted(p for p in listed if p.is_dir() and not p.name.startswith("."))
    prefix = _prefix(json_path)

    def named_like(p: Path) -> bool:
        return bool(prefix) and "-".join(w for w in re.split(r"[^a-z0-9]+", p.name.lower()) if w).startswith(prefix)

    ordered = [p for p in subdirs if named_like(p)]
    ordered += [p for p in subdirs if p.name.lower().startswith("images") and p not in ordered]
    ordered.append(folder)
    ordered += [p for p in subdirs if p not in ordered]
    return ordered


def find_image_root(json_path: Path, first_case_id: str | None) -> Path:
    """The candidate folder that holds the first case's image; one line naming the file and the
    folders tried when none does."""
    candidates = root_candidates(json_path)
    if first_case_id is None:
        return json_path.parent
    for root in candidates:
        if (root / first_case_id).exists():
            return root
    tried = ", ".join(str(p) for p in candidates)
    raise HarnessError(
        f"{json_path}: the image of its first case {first_case_id!r} is in none of the folders tried ({tried}); "
        f"put the images in one of them, or pass --data '{json_path}=IMAGE_FOLDER'"
    )


def guess_image_root(json_path: Path, first_case_id: str | None) -> Path:
    """As `find_image_root`, but the file's own folder when no candidate holds the image (for readers
    that need the records only, such as scoring against ground truth)."""
    try:
        return find_image_root(json_path, first_case_id)
    except HarnessError:
        return json_path.parent


def load_json(path: Path) -> object:
    """A JSON file's value (UTF-8, with or without a byte-order mark); one line on a malformed file."""
    try:
        return json.loads(read_text(path))
    except FileNotFoundError:
        raise HarnessError(f"{path}: no such file; pass an existing FLARE JSON file") from None
    except IsADirectoryError:
        raise HarnessError(f"{path}: is a folder; pass a FLARE JSON file, or the folder as --data") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: malformed JSON ({exc}); fix the file or download it again") from None
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read ({exc.strerror}); check its permissions") from None
