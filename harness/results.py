"""Result files: validation against the shipped JSON Schema and the task's metric specs.

    >>> from harness.results import validate_result
    >>> validate_result(json.loads(path.read_text()), path)      # doctest: +SKIP

A result file is ``leaderboard/results/<model>/<task>.json`` (shape in DESIGN "Result files",
schema in ``harness/schemas/result.schema.json``, documented in docs/results.md). The schema states
the shape every result shares; the keys of ``scores`` are the task's own, checked here from the
installed task's `harness.task.MetricSpec` s (a result of a task that is not installed is checked
against the schema only).
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

from harness import plugins
from harness.errors import HarnessError, UnknownNameError
from harness.registry import Registry
from harness.task import MetricSpec, Task

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


def installed_task(name: str) -> Task | None:
    """The installed task called ``name`` (created once per plugin set), or None when no plugin provides it."""
    return _create_task(plugins.registry("tasks"), name)


@functools.lru_cache(maxsize=64)
def _create_task(registry: Registry, name: str) -> Task | None:
    """Keyed on the registry object: a new plugin set (``-p``, tests) is a new registry, so never a stale task."""
    try:
        entry = registry.get(name)
    except UnknownNameError:
        return None
    return entry.create()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count_error(value: Any, *, measured: bool) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    if value is None and not measured:
        return None
    return f"{value!r} is not a count (an integer >= 0{'' if measured else ' or null'})"


def _value_error(spec: MetricSpec, value: Any, *, measured: bool) -> str | None:
    if value is None:
        return None if not measured else "None is not a number (a measured result has every figure)"
    if not _is_number(value):
        return f"{value!r} is not a finite number{'' if measured else ' or null'}"
    if spec.bounds is not None and not spec.bounds[0] <= value <= spec.bounds[1]:
        return f"{value!r} is outside [{spec.bounds[0]:g}, {spec.bounds[1]:g}]"
    return None


def _metric_errors(data: dict[str, Any], task: Task) -> list[tuple[str, str]]:
    """The scores a task's metric specs declare, each present and well typed: (JSON path, message) pairs."""
    scores = data["scores"]
    measured = data["source"] == "measured"
    errors: list[tuple[str, str]] = []
    for spec in task.metrics:
        where = f"$.scores.{spec.key}"
        if spec.key not in scores:
            errors.append(("$.scores", f"'{spec.key}' is a required property of {task.name} scores ({spec.label})"))
            continue
        value = scores[spec.key]
        if spec.aggregate == "breakdown":
            if not isinstance(value, dict):
                errors.append((where, f"{value!r} is not an object of {spec.parts} -> number"))
                continue
            for part, number in value.items():
                problem = _value_error(spec, number, measured=True)
                if problem:
                    errors.append((f"{where}.{part}", problem))
        else:
            problem = _value_error(spec, value, measured=measured)
            if problem:
                errors.append((where, problem))
        if spec.count_key is not None:
            if spec.count_key not in scores:
                errors.append(("$.scores", f"'{spec.count_key}' is a required property of {task.name} scores "
                                           f"(the count behind {spec.key})"))
            else:
                problem = _count_error(scores[spec.count_key], measured=measured)
                if problem:
                    errors.append((f"$.scores.{spec.count_key}", problem))
    if task.needs_judge:
        for where, judge in (("$.judge", data.get("judge")), ("$.scores.judge", scores.get("judge"))):
            if not isinstance(judge, str) or not judge:
                errors.append((where, f"{judge!r} is not a judge id; {task.name} is judged, so its result names "
                                      "the judge's stable identity"))
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
    errors = _consistency_errors(data)
    if not errors and (task := installed_task(data["task"]["name"])) is not None:
        errors = _metric_errors(data, task)
    if errors:
        json_path, message = errors[0]
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
