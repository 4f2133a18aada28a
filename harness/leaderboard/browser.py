"""The page's per-case browser: reference against generated text, with the official per-case scores.

Rendered as static HTML (one ``<article class="case">`` per model, task and case; one ``<tr class="item">``
per report organ or VQA question). The page's script only hides and shows them: by model, task, organ
(reports only: VQA questions carry no organ) and grade (correct, partly, wrong).
"""

from __future__ import annotations

from html import escape
from typing import Any

from harness.leaderboard.cases import CaseView, Item
from harness.leaderboard.tables import fmt

_TASK_LABELS = {"report": "report", "vqa": "VQA"}
_GRADE_LABELS = {"correct": "correct (1)", "partly": "partly (between 0 and 1)", "wrong": "wrong (0)"}
_SCORE_LABELS = {"score": "GREEN", "global_accuracy": "global accuracy", "local_accuracy": "local accuracy"}


def _options(values: list[tuple[str, str]]) -> str:
    return '<option value="">all</option>' + "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in values)


def _text(value: str | None, missing: str) -> str:
    return f'<span class="missing">{escape(missing)}</span>' if value is None else escape(value)


def _item(item: Item) -> str:
    grade = item.grade or "none"
    score = "–" if item.score is None else fmt(item.score)
    note = f'<br><small class="note">{escape(item.note)}</small>' if item.note else ""
    organ = f' data-organ="{escape(item.organ)}"' if item.organ else ""
    return (f'<tr class="item"{organ} data-grade="{grade}"><td>{escape(item.label)}{note}</td>'
            f'<td class="reference">{_text(item.reference, item.absent)}</td>'
            f'<td class="generated">{escape(item.prediction)}</td>'
            f'<td class="num grade-{grade}" title="{grade}">{score}</td></tr>')


def _case(model: str, colour: str, view: CaseView) -> str:
    scores = " · ".join(f"{_SCORE_LABELS.get(k, k)} {fmt(v)}" for k, v in view.scores.items())
    first = "organ" if view.task == "report" else "question"
    organs = "|" + "|".join(item.organ for item in view.items if item.organ) + "|"
    texts = "".join(
        f'<div class="texts"><div><h5>reference</h5><pre>{_text(ref, "not recorded")}</pre></div>'
        f'<div><h5>generated</h5><pre>{escape(pred)}</pre></div></div>' for _, ref, pred in view.texts)
    full = f"<details><summary>full texts</summary>{texts}</details>" if texts else ""
    return (f'<article class="case" data-model="{escape(model)}" data-task="{view.task}" '
            f'data-case="{escape(view.case_id)}" data-organs="{escape(organs)}">'
            f'<header><span class="swatch" style="background:{colour}"></span>'
            f'<code>{escape(model)}</code> · <strong>{escape(view.case_id)}</strong> · {_TASK_LABELS[view.task]}'
            f'{" · " + escape(scores) if scores else ""}</header>'
            f'<table class="items"><thead><tr><th>{first}</th><th>reference</th><th>generated</th><th>score</th></tr>'
            f'</thead><tbody>{"".join(_item(i) for i in view.items)}</tbody></table>{full}</article>')


def browser(board: dict[str, Any], colours: dict[str, str], views: dict[str, list[CaseView]]) -> str:
    """The board's per-case browser, or "" when none of its results has a predictions file."""
    cases: list[tuple[str, CaseView]] = []
    for row in board["rows"]:
        for _, info in sorted(row["results"].items()):
            cases += [(row["model"], view) for view in views.get(info["file"], [])]
    if not cases:
        return ""
    models = list(dict.fromkeys(model for model, _ in cases))
    tasks = list(dict.fromkeys(view.task for _, view in cases))
    # Organ names a generated report makes up (free text parsed as "key: value") are scored and shown in their
    # case, but the filter offers the organs of the references only.
    organs = sorted({item.organ for _, view in cases for item in view.items if item.organ and item.reference})
    filters = (
        f'<label>Model<select class="f-model">{_options([(m, m) for m in models])}</select></label>'
        f'<label>Task<select class="f-task">{_options([(t, _TASK_LABELS[t]) for t in tasks])}</select></label>'
        f'<label>Organ<select class="f-organ">{_options([(o, o) for o in organs])}</select></label>'
        f'<label>Correctness<select class="f-grade">{_options(list(_GRADE_LABELS.items()))}</select></label>'
        '<span class="count"></span>')
    body = "".join(_case(model, colours[model], view) for model, view in cases)
    return (f'<details class="browser" id="cases-{board["id"]}"><summary>Per-case browser: {len(cases)} cases of '
            f'{len(models)} model(s), from the committed predictions</summary>'
            '<p class="hint">Scores are the official per-case figures of the result file. A report organ\'s score is '
            "the judge's GREEN for that organ's sentences. The organ filter applies to reports (VQA "
            "questions carry no organ). A VQA question's own score is known when it is its case's only question "
            "of its kind or the case mean is 0 or 1; otherwise it is graded partly, with the case mean.</p>"
            f'<div class="filters">{filters}</div><div class="cases">{body}</div></details>')
