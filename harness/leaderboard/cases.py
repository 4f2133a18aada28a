"""Per-case views of a measured result: its predictions file joined with the result's per-case scores.

A measured result ``<model>/<task>.json`` may have its run's predictions beside it, as
``<model>/<task>.predictions.jsonl`` (one prediction per line, as `harness run` writes them, with the
reference text when the run recorded it). The page's per-case browser is built from the two files; the
scores it shows are the official ones from the result's ``scores.per_case``, never recomputed here.

Correctness grades: a score of 1 is "correct", 0 "wrong", anything between "partly". A VQA case's
per-case accuracy is the mean over its questions of that scope, so a single question's grade is known
exactly when the case has one question of the scope, or when the mean is 0 or 1; otherwise the question
is graded "partly" with the case mean beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.leaderboard.collect import Result
from harness.task import Prediction
from harness_plugins.tasks.flare.records import case_stem

SUFFIX = ".predictions.jsonl"
GRADES = ("correct", "partly", "wrong")
_SCOPE_METRIC = {"global": ("global_accuracy", "n_global"), "local": ("local_accuracy", "n_local")}


class PredictionsError(ValueError):
    """A predictions file that cannot be read or does not belong to its result (one line, naming the file)."""


def predictions_path(result_path: str) -> str:
    """``<model>/<task>.json`` -> ``<model>/<task>.predictions.jsonl``."""
    return result_path.removesuffix(".json") + SUFFIX


def grade(score: float | None) -> str | None:
    if score is None:
        return None
    return "correct" if score >= 1.0 else "wrong" if score <= 0.0 else "partly"


COMMITTED_FIX = "regenerate it with `harness leaderboard add RUN_DIR --force`"
RUN_FIX = "rerun the same `harness run` command into that folder to repair it"


def read_predictions(path: Path, *, fix: str = COMMITTED_FIX, torn_tail: bool = False) -> list[dict[str, Any]]:
    """The lines of a predictions file, each checked to be a prediction with at least its key fields.

    `torn_tail`: ignore a last line without its newline, as the run loop does (a write cut short by a crash)."""
    rows = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or (torn_tail and not line.endswith("\n")):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PredictionsError(f"{path}:{number}: not JSON ({exc.msg}); {fix}") from None
            missing = [k for k in ("key", "case_id", "scope", "prediction")
                       if not isinstance(row, dict) or k not in row]
            if missing:
                raise PredictionsError(f"{path}:{number}: not a prediction (missing {', '.join(missing)}); {fix}")
            rows.append(row)
    return rows


def _per_case_key(per_case: dict[str, Any], case_id: str) -> str | None:
    """The per_case key of a prediction's case: its id as given, else the scorer's canonical id."""
    if case_id in per_case:
        return case_id
    canonical = case_stem(case_id)
    return canonical if canonical in per_case else None


def scored_predictions(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The predictions of the cases the result scored, sorted by key, one per key (a run's file may hold
    predictions of cases it did not score, e.g. bad cases)."""
    per_case = data["scores"].get("per_case") or {}
    rows = {}
    for row in read_predictions(path, fix=RUN_FIX, torn_tail=True):
        if not per_case or _per_case_key(per_case, row["case_id"]) is not None:
            rows.setdefault(row["key"], {k: row.get(k) for k in Prediction.__dataclass_fields__ if k in row})
    return [rows[key] for key in sorted(rows)]


@dataclass(frozen=True)
class Item:
    """One line of a case in the browser: an organ of a report, or one VQA question."""

    label: str
    reference: str | None
    prediction: str
    score: float | None
    grade: str | None
    organ: str | None = None
    note: str | None = None
    absent: str = "not recorded"
    """What the browser shows when `reference` is None."""


@dataclass(frozen=True)
class CaseView:
    case_id: str
    task: str
    scores: dict[str, float]
    """The case's official per-case figures (``score`` for reports; accuracies for VQA)."""
    items: list[Item]
    texts: list[tuple[str, str | None, str]] = field(default_factory=list)
    """Full texts (question or label, reference, prediction) shown under the items."""


def _report_case(case_id: str, entry: Any, rows: list[dict[str, Any]]) -> CaseView:
    from harness_plugins.tasks.flare.report import parse_organs

    organs = entry.get("organs", {}) if isinstance(entry, dict) else {}
    score = entry.get("score") if isinstance(entry, dict) else entry
    row = rows[0]
    reference = parse_organs(row["reference"]) if row.get("reference") is not None else {}
    generated = parse_organs(row["prediction"])
    order = [*reference, *(o for o in generated if o not in reference), *(o for o in organs if o not in reference
                                                                           and o not in generated)]
    items = []
    for organ in dict.fromkeys(order):
        value = organs.get(organ)
        note = None
        if reference and organ not in reference:
            note = "not in the reference: judged as the scorer does, against a normal finding"
        elif organ not in generated:
            note = "not in the generated report: scored 0"
        absent = "not in the reference" if reference else "not recorded"
        items.append(Item(organ, reference.get(organ), generated.get(organ, ""), value, grade(value), organ, note,
                          absent))
    texts = [("report", row.get("reference"), row["prediction"])]
    return CaseView(case_id, "report", {"score": score} if score is not None else {}, items, texts)


def _vqa_case(case_id: str, entry: dict[str, Any], rows: list[dict[str, Any]]) -> CaseView:
    items = []
    shown = {scope: sum(r["scope"] == scope for r in rows) for scope in _SCOPE_METRIC}
    for row in rows:
        metric, count = _SCOPE_METRIC.get(row["scope"], (None, None))
        mean = entry.get(metric) if metric else None
        only = shown.get(row["scope"]) == 1 and entry.get(count, 1) == 1
        exact = mean is not None and (only or mean in (0.0, 1.0))
        note = None if exact or mean is None else f"case mean {mean:.4g} over {entry.get(count)} {row['scope']} rows"
        label = f"{row['scope']} · {row['question']}"
        items.append(Item(label, row.get("reference"), row["prediction"], mean if exact else None,
                          grade(mean) if exact else ("partly" if mean is not None else None), note=note))
    scores = {k: entry[k] for k in ("global_accuracy", "local_accuracy") if k in entry}
    return CaseView(case_id, "vqa", scores, items)


def _row_order(row: dict[str, Any]) -> tuple[int, int, str]:
    """Report first, then global, then local questions, by question id (numerically), then key."""
    scopes = ("report", "global", "local")
    rank = scopes.index(row["scope"]) if row["scope"] in scopes else len(scopes)
    qid = row.get("question_id")
    return rank, qid if isinstance(qid, int) else -1, row["key"]


def case_views(result: Result, rows: list[dict[str, Any]]) -> list[CaseView]:
    """The browser's cases for one result, in case order; predictions of unscored cases are left out."""
    per_case = result.data["scores"].get("per_case") or {}
    by_case: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = _per_case_key(per_case, row["case_id"])
        if key is not None:
            by_case.setdefault(key, []).append(row)
    views = []
    for case_id in sorted(by_case):
        case_rows = sorted(by_case[case_id], key=_row_order)
        entry = per_case[case_id]
        if case_rows[0]["scope"] == "report":
            views.append(_report_case(case_id, entry, case_rows))
        elif isinstance(entry, dict):
            views.append(_vqa_case(case_id, entry, case_rows))
    return views


def load_case_views(results_dir: Path, results: list[Result]) -> tuple[dict[str, list[CaseView]], list[str]]:
    """Result file -> its per-case views (for results with a predictions file), and one line per problem:
    a predictions file without its result, unreadable, or naming cases its result did not score."""
    root = Path(results_dir)
    views: dict[str, list[CaseView]] = {}
    problems: list[str] = []
    by_predictions = {predictions_path(r.path): r for r in results}
    for path in sorted(root.rglob("*" + SUFFIX)):
        relative = path.relative_to(root).as_posix()
        result = by_predictions.get(relative)
        if result is None:
            problems.append(f"{path}: no result file {relative.removesuffix(SUFFIX)}.json beside it; "
                            "delete it or add its run with `harness leaderboard add`")
            continue
        try:
            rows = read_predictions(path)
        except PredictionsError as exc:
            problems.append(str(exc))
            continue
        per_case = result.data["scores"].get("per_case") or {}
        strays = sorted({r["case_id"] for r in rows if _per_case_key(per_case, r["case_id"]) is None})
        if strays:
            problems.append(f"{path}: predictions of {len(strays)} case(s) its result did not score "
                            f"({strays[0]}...); regenerate it with `harness leaderboard add RUN_DIR --force`")
            continue
        views[result.path] = case_views(result, rows)
    return views, problems
