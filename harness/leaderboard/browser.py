"""The page's per-case browser: reference against generated text, with the official per-case scores.

Rendered as static HTML (one ``<article class="case">`` per model, task and case; one ``<tr class="item">``
per part of a breakdown or per answer). The page's script only hides and shows them: by model, task, part
(cases shown by a breakdown only: answers carry no part) and grade (correct, partly, wrong).
"""

from __future__ import annotations

from html import escape
from typing import Any

from harness.leaderboard.cases import CaseView, Item
from harness.leaderboard.tables import fmt

_GRADE_LABELS = {"correct": "correct (1)", "partly": "partly (between 0 and 1)", "wrong": "wrong (0)"}


def _options(values: list[tuple[str, str]]) -> str:
    return '<option value="">all</option>' + "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in values)


def _text(value: str | None, missing: str) -> str:
    return f'<span class="missing">{escape(missing)}</span>' if value is None else escape(value)


def _item(item: Item) -> str:
    grade = item.grade or "none"
    score = "–" if item.score is None else fmt(item.score)
    note = f'<br><small class="note">{escape(item.note)}</small>' if item.note else ""
    part = f' data-part="{escape(item.part)}"' if item.part else ""
    return (f'<tr class="item"{part} data-grade="{grade}"><td>{escape(item.label)}{note}</td>'
            f'<td class="reference">{_text(item.reference, item.absent)}</td>'
            f'<td class="generated">{escape(item.prediction)}</td>'
            f'<td class="num grade-{grade}" title="{grade}">{score}</td></tr>')


def _case(model: str, colour: str, view: CaseView) -> str:
    scores = " · ".join(f"{label} {fmt(v)}" for label, v in view.scores.items())
    first = view.parts or "answer"
    parts = "|" + "|".join(item.part for item in view.items if item.part) + "|"
    texts = "".join(
        f'<div class="texts"><div><h5>reference</h5><pre>{_text(ref, "not recorded")}</pre></div>'
        f'<div><h5>generated</h5><pre>{escape(pred)}</pre></div></div>' for _, ref, pred in view.texts)
    full = f"<details><summary>full texts</summary>{texts}</details>" if texts else ""
    return (f'<article class="case" data-model="{escape(model)}" data-task="{view.task}" '
            f'data-case="{escape(view.case_id)}" data-parts="{escape(parts)}">'
            f'<header><span class="swatch" style="background:{colour}"></span>'
            f'<code>{escape(model)}</code> · <strong>{escape(view.case_id)}</strong> · {escape(view.task)}'
            f'{" · " + escape(scores) if scores else ""}</header>'
            f'<table class="items"><thead><tr><th>{escape(first)}</th><th>reference</th><th>generated</th>'
            '<th>score</th></tr>'
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
    # Part names only a generated text makes up (free text split into parts) are scored and shown in their case,
    # but the filter offers the parts of the references only.
    parts = sorted({item.part for _, view in cases for item in view.items if item.part and item.reference})
    words = {view.parts for _, view in cases if view.parts}
    word = words.pop() if len(words) == 1 else "part"
    filters = (
        f'<label>Model<select class="f-model">{_options([(m, m) for m in models])}</select></label>'
        f'<label>Task<select class="f-task">{_options([(t, t) for t in tasks])}</select></label>'
        f'<label>{escape(word.capitalize())}<select class="f-part">{_options([(p, p) for p in parts])}</select></label>'
        f'<label>Correctness<select class="f-grade">{_options(list(_GRADE_LABELS.items()))}</select></label>'
        '<span class="count"></span>')
    body = "".join(_case(model, colours[model], view) for model, view in cases)
    return (f'<details class="browser" id="cases-{board["id"]}"><summary>Per-case browser: {len(cases)} cases of '
            f'{len(models)} model(s), from the committed predictions</summary>'
            '<p class="hint">Scores are the official per-case figures of the result file. A part\'s score is the '
            f"case's value of its task's breakdown (per {escape(word)}); the {escape(word)} filter applies to cases "
            "shown by parts (answers carry none). An answer's own score is known when it is its case's only answer "
            "of its scope or the case mean is 0 or 1; otherwise it is graded partly, with the case mean.</p>"
            f'<div class="filters">{filters}</div><div class="cases">{body}</div></details>')
