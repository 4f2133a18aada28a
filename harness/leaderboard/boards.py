"""Group results into boards, one per (data set, split, judge), and compute their rows.

The output is a plain, JSON-ready document (it is leaderboard.json); the tables, page and plots
all render from it. Judge-free results join every board of their data set and split.
"""

from __future__ import annotations

import re
from typing import Any

from harness.leaderboard.cases import predictions_path
from harness.leaderboard.collect import is_partial
from harness.leaderboard.metrics import Metric, breakdowns_for, metrics_for, per_case_values, task_metrics
from harness.leaderboard.result import Result
from harness.leaderboard.stats import LEVEL, RESAMPLES, SEED, bootstrap_ci, paired_bootstrap

Columns = dict[tuple[str, str], str]
"""(task, metric key) -> the metric's key on a board."""

DOCUMENT_VERSION = 3
DIGITS = 6


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def slug(*parts: str | None) -> str:
    """A file-name-safe identifier for a board."""
    text = "-".join(p if p is not None else "no-judge" for p in parts)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _date(data: dict[str, Any]) -> str | None:
    """The day a result was made: its run's date (measured), else its citation's date when it gives one."""
    stamp = (data.get("provenance") or {}).get("date") or (data.get("citation") or {}).get("date")
    return str(stamp)[:10] if stamp else None


def _result_info(result: Result, predictions: str | None) -> dict[str, Any]:
    data = result.data
    return {
        "file": result.path,
        "predictions": predictions,
        "date": _date(data),
        "partial": is_partial(data),
        "case_ids_sha256": data["data"].get("case_ids_sha256"),
        "source": data["source"],
        "citation": data.get("citation"),
        "notes": data.get("notes"),
        "task_version": data["task"]["version"],
        "data_sha256": data["data"]["sha256"],
        "n_cases": data["data"]["n_cases"],
        "decoding": data.get("decoding"),
        "provenance": data.get("provenance"),
        "weights": {k: data["model"].get(k) for k in ("weights", "revision", "sha256")},
    }


def _metric_cell(result: Result, metric: Metric) -> dict[str, Any] | None:
    scores = result.data["scores"]
    value = scores.get(metric.key)
    if value is None:
        return None
    cases = per_case_values(scores, metric)
    ci = None
    if result.data["source"] == "measured" and cases:
        ordered = sorted(cases)
        ci = bootstrap_ci([cases[c][0] for c in ordered], [cases[c][1] for c in ordered])
    return {
        "value": _round(value),
        "ci": None if ci is None else [_round(ci[0]), _round(ci[1])],
        "n_per_case": len(cases),
        "task": metric.task,
        "source": result.data["source"],
    }


def _breakdown_values(scores: dict[str, Any], breakdowns: list[Metric]) -> dict[Metric, dict[str, float | None]]:
    """A result's breakdown tables (metric -> part -> value).

    The parts of a task's first breakdown are the table's rows: a part only a later breakdown has (e.g. a
    name only a generated text has, split from free text) stays in the result file but not on the board."""
    out: dict[Metric, dict[str, float | None]] = {}
    first = scores.get(breakdowns[0].key) if breakdowns else None
    named = first if isinstance(first, dict) and first else None
    for metric in breakdowns:
        values = scores.get(metric.key)
        if isinstance(values, dict) and values:
            out[metric] = {part: _round(v) for part, v in sorted(values.items()) if not named or part in named}
    return out


def _row(model: str, results: list[Result], predictions: set[str], columns: Columns) -> dict[str, Any]:
    """`columns`: each metric's (and breakdown's) key on this board."""
    first = results[0].data["model"]
    row: dict[str, Any] = {
        "model": model,
        "title": first.get("title") or model,
        "encoder": first.get("encoder"),
        "projector": first.get("projector"),
        "llm": first.get("llm"),
        "sources": sorted({r.data["source"] for r in results}),
        "partial": any(is_partial(r.data) for r in results),
        "metrics": {},
        "breakdowns": {},
        "results": {},
    }
    for result in results:
        task = result.data["task"]["name"]
        file = predictions_path(result.path)
        row["results"][task] = _result_info(result, file if file in predictions else None)
        scores = result.data["scores"]
        for metric in metrics_for(scores):
            cell = _metric_cell(result, metric)
            if cell is not None:
                row["metrics"][columns[metric.task, metric.key]] = cell
        for metric, values in _breakdown_values(scores, breakdowns_for(scores)).items():
            row["breakdowns"][columns[metric.task, metric.key]] = values
    return row


def _sort_key(row: dict[str, Any], metrics: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Best first on the board's metrics in order (each in its own direction); rows missing a metric go after
    those that have it."""
    key: list[Any] = []
    for metric in metrics:
        cell = row["metrics"].get(metric["key"])
        value = cell["value"] if cell else 0.0
        key += [cell is None, -value if metric["higher_is_better"] else value]
    return (*key, row["model"])


def _comparisons(results: list[Result], metrics: list[Metric], columns: Columns) -> list[dict[str, Any]]:
    measured = sorted((r for r in results if r.data["source"] == "measured"), key=lambda r: r.data["model"]["name"])
    out: list[dict[str, Any]] = []
    for metric in metrics:
        having = [(r.data["model"]["name"], per_case_values(r.data["scores"], metric))
                  for r in measured if r.data["task"]["name"] == metric.task]
        having = [(name, cases) for name, cases in having if cases]
        for i, (name_a, cases_a) in enumerate(having):
            for name_b, cases_b in having[i + 1:]:
                comparison = paired_bootstrap(cases_a, cases_b)
                if comparison is None:
                    continue
                out.append({
                    "metric": columns[metric.task, metric.key],
                    "a": name_a,
                    "b": name_b,
                    "n_common": comparison.n_common,
                    "diff": _round(comparison.diff),
                    "ci": [_round(comparison.ci[0]), _round(comparison.ci[1])],
                    "p_value": _round(comparison.p_value),
                    "significant": comparison.significant,
                })
    return out


def _board_metrics(results: list[Result]) -> tuple[list[Metric], list[Metric], list[str]]:
    """The board's columns and breakdown tables, by task name then each task's own order, and one note per task
    that is not installed."""
    by_task: dict[str, list[Metric]] = {}
    for result in sorted(results, key=lambda r: r.data["task"]["name"]):
        scores = result.data["scores"]
        found = by_task.setdefault(scores["task"], [])
        found += [m for m in task_metrics(scores["task"], scores) if m.key not in {f.key for f in found}]
    metrics = [m for found in by_task.values() for m in found]
    notes = [f"task '{task}' is not installed: its numeric scores are shown as columns, higher taken as better; "
             "install its plugin for its own columns" for task, found in by_task.items()
             if any(not m.installed for m in found)]
    return ([m for m in metrics if m.spec.aggregate == "mean"], [m for m in metrics if m.spec.aggregate == "breakdown"],
            notes)


def _columns(metrics: list[Metric]) -> Columns:
    """Each metric's column key: its score key, or ``task/key`` when two tasks of the board share the key."""
    seen: dict[str, int] = {}
    for metric in metrics:
        seen[metric.key] = seen.get(metric.key, 0) + 1
    return {(m.task, m.key): m.key if seen[m.key] == 1 else f"{m.task}/{m.key}" for m in metrics}


def _board(data_name: str, split: str, judge: str | None, results: list[Result],
           predictions: set[str]) -> dict[str, Any]:
    metrics, breakdowns, notes = _board_metrics(results)
    columns = {**_columns(metrics), **_columns(breakdowns)}
    by_model: dict[str, list[Result]] = {}
    for result in results:
        by_model.setdefault(result.data["model"]["name"], []).append(result)
    shown = []
    for m in metrics:
        key = columns[m.task, m.key]
        shown.append({"key": key, "label": m.label if key == m.key else f"{m.label} ({m.task})", "task": m.task,
                      "higher_is_better": m.higher_is_better})
    rows = sorted((_row(model, rs, predictions, columns) for model, rs in by_model.items()),
                  key=lambda r: _sort_key(r, shown))
    tables = []
    for metric in breakdowns:
        same_task = [columns[b.task, b.key] for b in breakdowns if b.task == metric.task]
        parts = sorted({part for row in rows for key in same_task for part in row["breakdowns"].get(key, {})})
        tables.append({"key": columns[metric.task, metric.key], "label": metric.label,
                       "description": metric.spec.description, "task": metric.task, "parts": metric.spec.parts,
                       "names": parts})
    return {
        "id": slug(data_name, split, judge),
        "data": data_name,
        "split": split,
        "judge": judge,
        "metrics": shown,
        "breakdowns": tables,
        "rows": rows,
        "comparisons": _comparisons(results, metrics, columns),
        "task_notes": notes,
    }


def breakdown_rows(board: dict[str, Any], breakdown: dict[str, Any]) -> list[dict[str, Any]]:
    """The board's rows that have figures for a breakdown table."""
    return [row for row in board["rows"] if row["breakdowns"].get(breakdown["key"])]


def colours(models: list[str]) -> dict[str, str]:
    """One colour per model, the same on every board, plot and table (tab10, then tab20 beyond ten models)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    names = sorted(set(models))
    palette = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: to_hex(palette(i % palette.N)) for i, name in enumerate(names)}


def make_document(results: list[Result], predictions: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """The leaderboard document: every board, its ranked rows, intervals and pairwise comparisons.

    `predictions`: the predictions files (relative paths) present beside the results."""
    datasets = sorted({(r.data["data"]["name"], r.data["data"]["split"]) for r in results})
    boards = []
    for data_name, split in datasets:
        here = [r for r in results if (r.data["data"]["name"], r.data["data"]["split"]) == (data_name, split)]
        judges = sorted({r.judge for r in here if r.judge is not None}) or [None]
        for judge in judges:
            members = [r for r in here if r.judge in (judge, None)]
            boards.append(_board(data_name, split, judge, members, set(predictions)))
    return {
        "version": DOCUMENT_VERSION,
        "bootstrap": {"level": LEVEL, "resamples": RESAMPLES, "seed": SEED, "unit": "case"},
        "colours": colours([r.data["model"]["name"] for r in results]),
        "boards": boards,
    }
