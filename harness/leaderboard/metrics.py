"""Which scores the leaderboard shows, taken from the installed tasks' metric specs, and how per-case
scores are read.

A result's task is looked up by name among the installed tasks (`harness.results.installed_task`); its
`harness.task.MetricSpec` s give the columns (``mean`` metrics, with their label and direction) and the
extra tables (``breakdown`` metrics: one value per named part). A metric may carry a weight key: a case's
accuracy may be the mean over its questions, so the data set's figure is the question-weighted mean of case
values. A result whose task is not installed still shows: each numeric top-level score becomes a column of its
own (higher taken as better), and the board notes that the task is not installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from harness.results import installed_task
from harness.task import MetricSpec

_NOT_METRICS = {"task", "judge", "per_case"}


@dataclass(frozen=True)
class Metric:
    """One metric of one task, as a board shows it."""

    task: str
    spec: MetricSpec
    installed: bool = True
    """False: guessed from the scores of a task that is not installed."""

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def higher_is_better(self) -> bool:
        return self.spec.higher_is_better

    @property
    def primary(self) -> bool:
        return self.spec.primary

    @property
    def weight_key(self) -> str | None:
        return self.spec.weight_key


def task_metrics(task: str, scores: dict[str, Any]) -> list[Metric]:
    """Every metric of ``task``, in the task's order: its declared specs, else guessed from ``scores``."""
    made = installed_task(task)
    if made is not None:
        return [Metric(task, spec) for spec in made.metrics]
    keys = [k for k, v in scores.items() if k not in _NOT_METRICS and not k.startswith("n_") and _is_number(v)]
    return [Metric(task, MetricSpec(key, f"{task} {key}", primary=(i == 0)), installed=False)
            for i, key in enumerate(keys)]


def metrics_for(scores: dict[str, Any]) -> list[Metric]:
    """The columns a scores object provides: its task's ``mean`` metrics."""
    return [m for m in task_metrics(scores["task"], scores) if m.spec.aggregate == "mean"]


def breakdowns_for(scores: dict[str, Any]) -> list[Metric]:
    """The extra tables a scores object provides: its task's ``breakdown`` metrics."""
    return [m for m in task_metrics(scores["task"], scores) if m.spec.aggregate == "breakdown"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def per_case_value(entry: Any, spec: MetricSpec) -> Any:
    """A ``per_case`` entry's value of ``spec``: its key, else (for the primary metric) ``score`` or a bare number."""
    if isinstance(entry, dict):
        value = entry.get(spec.key)
        return entry.get("score") if value is None and spec.primary else value
    return entry if spec.primary else None


def per_case_values(scores: dict[str, Any], metric: Metric) -> dict[str, tuple[float, float]]:
    """case_id -> (value, weight) for `metric` from ``scores["per_case"]``; cases without a value are left out."""
    out: dict[str, tuple[float, float]] = {}
    for case_id, entry in (scores.get("per_case") or {}).items():
        value = per_case_value(entry, metric.spec)
        weight: Any = 1.0
        if isinstance(entry, dict) and metric.weight_key is not None:
            weight = entry.get(metric.weight_key, 1.0)
        if _is_number(value) and _is_number(weight) and weight > 0:
            out[case_id] = (float(value), float(weight))
    return out
