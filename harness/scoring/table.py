"""The scores object as a short text table: headline figures, then every breakdown side by side.

    >>> print(format_scores({"task": "t", "accuracy": 0.5, "n": 2}))
    metric    value
    --------  -------
    accuracy  0.5000
    n         2

A breakdown is a top-level object of named numbers (e.g. one score per organ). Those the task declares
(`harness.task.MetricSpec` with ``aggregate="breakdown"``) come first, titled by their labels; other
such objects in the scores that name the same parts (variants a scorer adds beside them) follow under
their keys.
"""

from __future__ import annotations

from typing import Any


def format_scores(scores: dict[str, Any], task: Any = None) -> str:
    """Headline numbers, the breakdowns table, the judge and its mode. ``task`` defaults to the installed task
    named by ``scores["task"]`` (none installed: breakdowns under their keys)."""
    from tabulate import tabulate

    if task is None:
        from harness.results import installed_task

        task = installed_task(str(scores.get("task", "")))
    headline = [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in sorted(scores.items())
                if isinstance(v, (int, float)) and not isinstance(v, bool)]
    lines = [tabulate(headline, headers=["metric", "value"], disable_numparse=True)]
    columns, part = breakdown_columns(scores, task)
    if columns:
        names = sorted(set().union(*(scores[key] for key, _ in columns)))
        rows = [(name, *(scores[key].get(name) for key, _ in columns)) for name in names]
        lines.append(tabulate(rows, headers=[part, *(title for _, title in columns)], floatfmt=".4f"))
    if scores.get("judge"):
        mode = f" (batching: {scores['judge_batching']})" if scores.get("judge_batching") else ""
        lines.append(f"judge: {scores['judge']}{mode}")
    for skipped in scores.get("judge_skipped") or []:
        lines.append(f"judge skipped {skipped['case_id']} / {skipped['organ']}: {skipped['reason']} (scored 0)")
    return "\n\n".join(lines)


def breakdown_columns(scores: dict[str, Any], task: Any) -> tuple[list[tuple[str, str]], str]:
    """((scores key, column title) of each breakdown present, the title of the name column)."""
    declared = [spec for spec in getattr(task, "metrics", ()) if spec.aggregate == "breakdown"]
    columns = [(spec.key, spec.label) for spec in declared if _is_breakdown(scores.get(spec.key))]
    known = {key for key, _ in columns}
    names = set().union(*(scores[key] for key in known))  # variants name the same parts; other objects do not
    columns += [(key, key) for key, value in scores.items() if key not in known and key != "per_case"
                and _is_breakdown(value) and (not names or set(value) <= names)]
    part = next((spec.parts for spec in declared if getattr(spec, "parts", None)), None) or "part"
    return columns, part


def _is_breakdown(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values())
