"""Per-case views of a measured result: its predictions file joined with the result's per-case scores.

A measured result ``<model>/<task>.json`` may have its run's predictions beside it, as
``<model>/<task>.predictions.jsonl`` (one prediction per line, as `harness run` writes them, with the
reference text when the run recorded it). The page's per-case browser is built from the two files; the
scores it shows are the official ones from the result's ``scores.per_case``, never recomputed here. A
prediction belongs to the ``per_case`` entry of its case id as written.

What a case shows comes from its task's metric specs: a case whose ``per_case`` entry holds a ``breakdown``
metric (an object of part -> number) shows one line per part, with the texts the task's `answer_parts` splits
out; any other case shows one line per answer, graded by the metric whose ``scope`` is the answer's.

Correctness grades (for metrics that are fractions, higher better): a score of 1 is "correct", 0 "wrong",
anything between "partly". A case's value may be the mean over its answers of that scope, so a single
answer's grade is known exactly when the case has one answer of the scope, or when the mean is 0 or 1;
otherwise the answer is graded "partly" with the case mean beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.leaderboard.metrics import Metric, per_case_value, task_metrics
from harness.results import installed_task
from harness.task import Prediction, Task

if TYPE_CHECKING:
    from harness.leaderboard.result import Result

SUFFIX = ".predictions.jsonl"
GRADES = ("correct", "partly", "wrong")


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
    """The per_case key of a prediction's case: its id as written, else that id without its file extension
    (``sub/case_01.nii.gz`` -> ``sub/case_01``: scorers that compare ids without extensions key by those)."""
    if case_id in per_case:
        return case_id
    stems = [key for key in per_case if case_id.startswith(key + ".")]
    return max(stems, key=len) if stems else None


def scored_predictions(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The predictions of the cases the result scored, sorted by key, one per key (a run's file may hold
    predictions of cases it did not score, e.g. bad cases)."""
    per_case = data["scores"].get("per_case") or {}
    rows = {}
    read = read_predictions(path, fix=RUN_FIX, torn_tail=True)
    for row in read:
        if not per_case or _per_case_key(per_case, row["case_id"]) is not None:
            rows.setdefault(row["key"], {k: row.get(k) for k in Prediction.__dataclass_fields__ if k in row})
    if read and not rows:
        raise PredictionsError(
            f"{path}: none of its case ids is a key of the result's scores.per_case (e.g. {read[0]['case_id']!r} "
            f"against {next(iter(per_case))!r}); the task's scorer must key per_case by the case id as the "
            "predictions write it")
    return [rows[key] for key in sorted(rows)]


@dataclass(frozen=True)
class Item:
    """One line of a case in the browser: a part of a breakdown, or one answer."""

    label: str
    reference: str | None
    prediction: str
    score: float | None
    grade: str | None
    part: str | None = None
    note: str | None = None
    absent: str = "not recorded"
    """What the browser shows when `reference` is None."""


@dataclass(frozen=True)
class CaseView:
    case_id: str
    task: str
    scores: dict[str, float]
    """The case's official per-case figures, by metric label."""
    items: list[Item]
    texts: list[tuple[str, str | None, str]] = field(default_factory=list)
    """Full texts (scope, reference, prediction) shown under the items."""
    parts: str | None = None
    """What the items' parts are (``organ``) when the case is shown by a breakdown."""


def _gradable(metric: Metric) -> bool:
    """Grades read 1 as correct: only for a declared fraction, higher better."""
    return metric.installed and metric.higher_is_better and metric.spec.bounds == (0.0, 1.0)


def _parts_case(case_id: str, task: Task | None, breakdown: Metric, entry: Any,
                rows: list[dict[str, Any]], scores: dict[str, float]) -> CaseView:
    values = entry.get(breakdown.key) if isinstance(entry, dict) else None
    values = values if isinstance(values, dict) else {}
    row = rows[0]
    split = task.answer_parts if task is not None else (lambda text: {})
    reference = split(row["reference"]) if row.get("reference") is not None else {}
    generated = split(row["prediction"])
    order = [*reference, *(p for p in generated if p not in reference),
             *(p for p in values if p not in reference and p not in generated)]
    gradable = _gradable(breakdown)
    items = []
    for part in dict.fromkeys(order):
        value = values.get(part)
        note = None
        if reference and part not in reference:
            note = "not in the reference"
        elif (reference or generated) and part not in generated:  # the task splits texts: this one lacks it
            note = "not in the generated text"
        absent = "not in the reference" if reference else "not recorded"
        items.append(Item(part, reference.get(part), generated.get(part, ""), value,
                          grade(value) if gradable else None, part, note, absent))
    texts = [(row["scope"], row.get("reference"), row["prediction"])]
    return CaseView(case_id, breakdown.task, scores, items, texts, breakdown.spec.parts)


def _answers_case(case_id: str, task_name: str, means: list[Metric], entry: Any,
                  rows: list[dict[str, Any]], scores: dict[str, float]) -> CaseView:
    by_scope = {m.spec.scope: m for m in means if m.spec.scope is not None}
    fallback = None if by_scope else next((m for m in means if m.primary), None)
    shown: dict[str, int] = {}
    for row in rows:
        shown[row["scope"]] = shown.get(row["scope"], 0) + 1
    items = []
    for row in rows:
        metric = by_scope.get(row["scope"], fallback)
        if metric is None or not _gradable(metric) or (mean := per_case_value(entry, metric.spec)) is None:
            score, graded, note = None, None, None
        else:
            count = entry.get(metric.weight_key, 1) if metric.weight_key and isinstance(entry, dict) else 1
            exact = (shown[row["scope"]] == 1 and count == 1) or mean in (0.0, 1.0)
            score, graded = (mean, grade(mean)) if exact else (None, "partly")
            note = None if exact else f"case mean {mean:.4g} over {count} {row['scope']} rows"
        items.append(Item(f"{row['scope']} · {row['question']}", row.get("reference"), row["prediction"], score,
                          graded, note=note))
    return CaseView(case_id, task_name, scores, items)


def _breakdown_of(task: Task | None, breakdowns: list[Metric], entry: Any, row: dict[str, Any]) -> Metric | None:
    """The breakdown a case is shown by: the first whose per-case values it has, else the task's first when the
    task splits the case's texts into parts (the parts are then shown without figures)."""
    for metric in breakdowns:
        if isinstance(entry, dict) and isinstance(entry.get(metric.key), dict):
            return metric
    if breakdowns and task is not None and (task.answer_parts(row["prediction"])
                                            or task.answer_parts(row.get("reference") or "")):
        return breakdowns[0]
    return None


def _row_order(scopes: list[str]) -> Callable[[dict[str, Any]], tuple[int, str, int, str]]:
    """Rows by the task's scope order (its decoding's), then question id (numerically), then key."""
    def order(row: dict[str, Any]) -> tuple[int, str, int, str]:
        rank = scopes.index(row["scope"]) if row["scope"] in scopes else len(scopes)
        qid = row.get("question_id")
        return rank, row["scope"], qid if isinstance(qid, int) else -1, row["key"]
    return order


def case_views(result: Result, rows: list[dict[str, Any]]) -> list[CaseView]:
    """The browser's cases for one result, in case order; predictions of unscored cases are left out."""
    scores = result.data["scores"]
    per_case = scores.get("per_case") or {}
    task_name = result.data["task"]["name"]
    task = installed_task(task_name)
    metrics = task_metrics(task_name, scores)
    means = [m for m in metrics if m.spec.aggregate == "mean"]
    breakdowns = [m for m in metrics if m.spec.aggregate == "breakdown"]
    order = _row_order(list(task.decoding) if task is not None else [])
    by_case: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = _per_case_key(per_case, row["case_id"])
        if key is not None:
            by_case.setdefault(key, []).append(row)
    views = []
    for key in sorted(by_case):
        case_rows = sorted(by_case[key], key=order)
        entry = per_case[key]
        case_id = case_rows[0]["case_id"]  # shown as the predictions write it
        figures = {m.label: float(v) for m in means if isinstance(v := per_case_value(entry, m.spec), (int, float))}
        breakdown = _breakdown_of(task, breakdowns, entry, case_rows[0])
        if breakdown is not None:
            views.append(_parts_case(case_id, task, breakdown, entry, case_rows, figures))
        else:
            views.append(_answers_case(case_id, task_name, means, entry, case_rows, figures))
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
