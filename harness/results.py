"""Result files: validation against the shipped JSON Schema.

    >>> from harness.results import validate_result
    >>> validate_result(json.loads(path.read_text()), path)      # doctest: +SKIP

A result file is ``leaderboard/results/<model>/<task>.json`` (shape in DESIGN "Result files",
schema in ``harness/schemas/result.schema.json``, documented in docs/results.md).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

SCHEMA_VERSION = 1

# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


@functools.cache
def load_schema() -> dict[str, Any]:
    """The result-file JSON Schema (draft 2020-12) shipped in the package."""
    text = resources.files("harness").joinpath("schemas", "result.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _consistency_errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-field rules a JSON Schema cannot state: (JSON path, message) pairs."""
    errors: list[tuple[str, str]] = []
    scores = data["scores"]
    if scores["task"] != data["task"]["name"]:
        errors.append(("$.scores.task", f"{scores['task']!r} differs from task.name {data['task']['name']!r}"))
    judge = data.get("judge")
    if "judge" in scores and judge and scores["judge"] != judge:
        errors.append(("$.scores.judge", f"{scores['judge']!r} differs from judge {judge!r}"))
    return errors


def validate_result(data: dict[str, Any], path: str | Path | None = None) -> None:
    """Raise HarnessError (one line: file, JSON path, message) unless `data` is a valid result file."""
    from jsonschema.exceptions import best_match

    where = f"{path}: " if path is not None else ""
    error = best_match(_validator().iter_errors(data))
    if error is not None:
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        raise HarnessError(
            f"{where}invalid result file at {error.json_path}: {message} (schema: docs/results.md)"
        )
    for json_path, message in _consistency_errors(data):
        raise HarnessError(f"{where}invalid result file at {json_path}: {message}")


def read_result(path: str | Path) -> dict[str, Any]:
    """Read and validate one result file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"{path}: no such result file") from None
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: invalid result file at $: expected a JSON object")
    validate_result(data, path)
    return data
