"""Which scores the leaderboard shows, and how per-case scores are read.

The score keys are DESIGN's fixed ones. A metric may carry a weight key: a case's VQA accuracy is the
mean over its questions, so the data set's accuracy is the question-weighted mean of case accuracies.
Tasks not listed here still appear: each numeric top-level score becomes a metric of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    key: str
    """The key in the scores object (and in a per-case object)."""
    label: str
    task: str
    weight_key: str | None = None
    """Per-case key holding the number of items behind the case's value (absent means 1)."""
    primary: bool = False
    """A bare number (or ``{"score": x}``) in per_case is this metric's value."""


KNOWN_METRICS: tuple[Metric, ...] = (
    Metric("green", "GREEN", "flare_report", primary=True),
    Metric("global_accuracy", "VQA global", "flare_vqa", weight_key="n_global", primary=True),
    Metric("local_accuracy", "VQA local", "flare_vqa", weight_key="n_local"),
)

ORGAN_AVERAGINGS: tuple[tuple[str, str], ...] = (
    ("organs", "official FLARE averaging: mean over the cases whose reference has the organ"),
    ("organs_all_cases", "Med3DVLM README averaging: mean over all cases, 0 where the reference lacks the organ"),
)

_NOT_METRICS = {"task", "judge", "per_case", "n_cases", "organs", "organs_all_cases"}


def metrics_for(scores: dict[str, Any]) -> list[Metric]:
    """The metrics a scores object provides: the known ones for its task, else its numeric keys."""
    task = scores["task"]
    known = [m for m in KNOWN_METRICS if m.task == task]
    if known:
        return known
    return [
        Metric(key, f"{task} {key}", task, primary=(i == 0))
        for i, key in enumerate(
            k for k, v in scores.items()
            if k not in _NOT_METRICS and not k.startswith("n_") and _is_number(v)
        )
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def per_case_values(scores: dict[str, Any], metric: Metric) -> dict[str, tuple[float, float]]:
    """case_id -> (value, weight) for `metric` from ``scores["per_case"]``; cases without a value are left out."""
    out: dict[str, tuple[float, float]] = {}
    for case_id, entry in (scores.get("per_case") or {}).items():
        weight: Any = 1.0
        if isinstance(entry, dict):
            value = entry.get(metric.key)
            if value is None and metric.primary:
                value = entry.get("score")
            if metric.weight_key is not None:
                weight = entry.get(metric.weight_key, 1.0)
        else:
            value = entry if metric.primary else None
        if _is_number(value) and _is_number(weight) and weight > 0:
            out[case_id] = (float(value), float(weight))
    return out
