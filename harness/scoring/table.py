"""The scores object as a short text table: headline figures, then per-organ GREEN for report tasks.

    >>> print(format_scores({"task": "t", "accuracy": 0.5, "n": 2}))
    metric    value
    --------  -------
    accuracy  0.5000
    n         2
"""

from __future__ import annotations

from typing import Any

ORGAN_COLUMNS = (
    ("organs", "GREEN (official)"),
    ("organs_stateless", "GREEN (stateless)"),
    ("organs_all_cases", "GREEN (all cases)"),
)


def format_scores(scores: dict[str, Any]) -> str:
    """Headline numbers (official and stateless side by side), the per-organ table, the judge and its mode."""
    from tabulate import tabulate

    headline = [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in sorted(scores.items())
                if isinstance(v, (int, float)) and not isinstance(v, bool)]
    lines = [tabulate(headline, headers=["metric", "value"], disable_numparse=True)]
    if isinstance(scores.get("organs"), dict):
        columns = [(key, title) for key, title in ORGAN_COLUMNS if isinstance(scores.get(key), dict)]
        rows = [(organ, *(scores[key].get(organ) for key, _ in columns)) for organ in sorted(scores["organs"])]
        lines.append(tabulate(rows, headers=["organ", *(title for _, title in columns)], floatfmt=".4f"))
    if scores.get("judge"):
        mode = f" (batching: {scores['judge_batching']})" if scores.get("judge_batching") else ""
        lines.append(f"judge: {scores['judge']}{mode}")
    for skipped in scores.get("judge_skipped") or []:
        lines.append(f"judge skipped {skipped['case_id']} / {skipped['organ']}: {skipped['reason']} (scored 0)")
    return "\n\n".join(lines)
