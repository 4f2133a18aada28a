"""Validation of FLARE JSON records. Every problem is one line naming the file, the case and the field.

>>> validate_records([{"findings": {}}], source="val.json")
Traceback (most recent call last):
...
harness_plugins.tasks.flare.validate.RecordError: val.json: case #0: case_id: missing or not a non-empty string
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from harness.errors import HarnessError


class RecordError(HarnessError):
    """A FLARE record that does not follow the format."""


def _fail(source: str, case: str, field: str, problem: str) -> RecordError:
    return RecordError(f"{source}: case {case}: {field}: {problem}")


def validate_records(records: Any, *, source: str) -> None:
    """Check a parsed FLARE JSON file (a list of records). Raises `RecordError` on the first problem."""
    if not isinstance(records, list):
        raise RecordError(f"{source}: expected a JSON list of case records, got {type(records).__name__}")
    seen: set[str] = set()
    for index, record in enumerate(records):
        validate_record(record, source=source, index=index)
        case_id = record["case_id"]
        if case_id in seen:
            raise _fail(source, case_id, "case_id", "duplicate case id in this file; each case must appear once")
        seen.add(case_id)


def validate_record(record: Any, *, source: str, index: int) -> None:
    """Check one record's fields, types and local VQA links."""
    if not isinstance(record, dict):
        raise RecordError(f"{source}: record {index}: expected an object, got {type(record).__name__}")
    case_id = record.get("case_id")
    if not isinstance(case_id, str) or not case_id.strip():
        raise _fail(source, f"#{index}", "case_id", "missing or not a non-empty string")
    check_case_id(case_id, source=source)
    findings = record.get("findings", {})
    if not isinstance(findings, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in findings.items()
    ):
        raise _fail(source, case_id, "findings", "must be an object mapping organ names to text")
    impression = record.get("impression", [])
    if not isinstance(impression, list) or not all(isinstance(s, str) for s in impression):
        raise _fail(source, case_id, "impression", "must be a list of strings")
    _check_global(record.get("global_vqa", []), source, case_id)
    _check_local(record.get("local_vqa", []), source, case_id)


def check_case_id(case_id: str, *, source: str) -> None:
    """A case id is a relative path that stays inside its image root, without control characters (a NUL
    byte would end the path in the operating system's calls)."""
    if any(ord(ch) < 32 for ch in case_id):
        raise _fail(source, ascii(case_id), "case_id", "contains a control character (NUL, newline, tab); rename it")
    for flavour in (PurePosixPath(case_id), PureWindowsPath(case_id)):
        if flavour.is_absolute() or flavour.anchor or ".." in flavour.parts:
            raise _fail(source, case_id, "case_id", "must be a path relative to the image root, without '..'")


def check_inside(image: Path, root: Path, *, source: str, case_id: str) -> None:
    """The resolved image path must stay inside the image root (symbolic links included)."""
    if not image.resolve().is_relative_to(root.resolve()):
        raise _fail(source, case_id, "case_id", f"resolves outside the image root {root}")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_global(items: Any, source: str, case_id: str) -> None:
    if not isinstance(items, list):
        raise _fail(source, case_id, "global_vqa", "must be a list of questions")
    for i, item in enumerate(items):
        where = f"global_vqa[{i}]"
        if not isinstance(item, dict):
            raise _fail(source, case_id, where, "must be an object")
        if not isinstance(item.get("question"), str):
            raise _fail(source, case_id, f"{where}.question", "missing or not a string")
        if "answer" not in item or not _is_str_list(item["answer"]):
            raise _fail(source, case_id, f"{where}.answer", "missing or not a list of labels (may be empty)")
        if item.get("choices") is not None and not _is_str_list(item["choices"]):
            raise _fail(source, case_id, f"{where}.choices", "must be a list of strings")


def _check_local(items: Any, source: str, case_id: str) -> None:
    if not isinstance(items, list):
        raise _fail(source, case_id, "local_vqa", "must be a list of questions")
    ids: dict[int, int] = {}
    for i, item in enumerate(items):
        where = f"local_vqa[{i}]"
        if not isinstance(item, dict):
            raise _fail(source, case_id, where, "must be an object")
        for key in ("id", "follow_up"):
            if key not in item or isinstance(item[key], bool) or not isinstance(item[key], int):
                raise _fail(source, case_id, f"{where}.{key}", "missing or not an integer")
        for key in ("question", "answer"):
            if not isinstance(item.get(key), str):
                raise _fail(source, case_id, f"{where}.{key}", "missing or not a string")
        if item.get("choices") is not None and not _is_str_list(item["choices"]):
            raise _fail(source, case_id, f"{where}.choices", "must be a list of strings")
        if item["id"] in ids:
            raise _fail(source, case_id, f"{where}.id", f"{item['id']} is used twice in this case")
        ids[item["id"]] = item["follow_up"]
    for i, item in enumerate(items):
        parent = item["follow_up"]
        if parent != -1 and (parent not in ids or parent == item["id"]):
            raise _fail(
                source,
                case_id,
                f"local_vqa[{i}].follow_up",
                f"{parent} is not the id of another question in this case; use -1 for a root question",
            )
        seen = {item["id"]}
        while parent != -1:
            if parent in seen:
                raise _fail(source, case_id, f"local_vqa[{i}].follow_up", "follow-up links form a cycle")
            seen.add(parent)
            parent = ids[parent]
