"""Group results into boards, one per (data set, split, judge), and compute their rows.

The output is a plain, JSON-ready document (it is leaderboard.json); the tables, page and plots
all render from it. Judge-free results (VQA) join every board of their data set and split.
"""

from __future__ import annotations

import re
from typing import Any

from harness.leaderboard.cases import predictions_path
from harness.leaderboard.collect import Result, is_partial
from harness.leaderboard.metrics import KNOWN_METRICS, ORGAN_AVERAGINGS, Metric, metrics_for, per_case_values
from harness.leaderboard.stats import LEVEL, RESAMPLES, SEED, bootstrap_ci, paired_bootstrap

DOCUMENT_VERSION = 2
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


def _row(model: str, results: list[Result], predictions: set[str]) -> dict[str, Any]:
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
        "organs": {},
        "organs_all_cases": {},
        "organs_task": None,
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
                row["metrics"][metric.key] = cell
        # Organs that only a generated report names (free text parsed as "key: value") stay in the result
        # file but not on the board: when the official averaging lists the reference organs, keep to them.
        reference_organs = scores.get("organs") if isinstance(scores.get("organs"), dict) else None
        for averaging, _ in ORGAN_AVERAGINGS:
            organs = scores.get(averaging)
            if isinstance(organs, dict) and organs:
                row["organs_task"] = task
                row[averaging].update({organ: _round(v) for organ, v in sorted(organs.items())
                                       if not reference_organs or organ in reference_organs})
    return row


def _sort_key(row: dict[str, Any], metric_keys: list[str]) -> tuple[Any, ...]:
    """Best first on the board's metrics in order; rows missing a metric go after those that have it."""
    key: list[Any] = []
    for metric in metric_keys:
        cell = row["metrics"].get(metric)
        key += [cell is None, -(cell["value"] if cell else 0.0)]
    return (*key, row["model"])


def _comparisons(results: list[Result], metrics: list[Metric]) -> list[dict[str, Any]]:
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
                    "metric": metric.key,
                    "a": name_a,
                    "b": name_b,
                    "n_common": comparison.n_common,
                    "diff": _round(comparison.diff),
                    "ci": [_round(comparison.ci[0]), _round(comparison.ci[1])],
                    "p_value": _round(comparison.p_value),
                    "significant": comparison.significant,
                })
    return out


def _board(data_name: str, split: str, judge: str | None, results: list[Result],
           predictions: set[str]) -> dict[str, Any]:
    metrics: list[Metric] = []
    for result in results:
        for metric in metrics_for(result.data["scores"]):
            if metric not in metrics:
                metrics.append(metric)
    known = list(KNOWN_METRICS)
    metrics.sort(key=lambda m: known.index(m) if m in known else len(known))  # stable: unknown ones keep their order
    by_model: dict[str, list[Result]] = {}
    for result in results:
        by_model.setdefault(result.data["model"]["name"], []).append(result)
    metric_keys = [m.key for m in metrics]
    rows = sorted((_row(model, rs, predictions) for model, rs in by_model.items()),
                  key=lambda r: _sort_key(r, metric_keys))
    organs = sorted({organ for row in rows for averaging, _ in ORGAN_AVERAGINGS for organ in row[averaging]})
    return {
        "id": slug(data_name, split, judge),
        "data": data_name,
        "split": split,
        "judge": judge,
        "metrics": [{"key": m.key, "label": m.label, "task": m.task} for m in metrics],
        "organs": organs,
        "rows": rows,
        "comparisons": _comparisons(results, metrics),
    }


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
