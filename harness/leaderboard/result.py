"""One result file as the leaderboard reads it: its path inside the results folder and its parsed JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    path: str
    """Path relative to the results folder, with '/' separators (``<model>/<task>.json``)."""
    data: dict[str, Any]

    @property
    def judge(self) -> str | None:
        return self.data.get("judge")

    @property
    def key(self) -> tuple[str, ...]:
        """What a result claims: (model, task, data set, split, judge), case-folded; two files may not share one.

        Case-folded because ``Model-A/`` and ``model-a/`` are one folder on case-insensitive file systems.
        """
        d = self.data
        parts = (d["model"]["name"], d["task"]["name"], d["data"]["name"], d["data"]["split"], self.judge or "")
        return tuple(part.casefold() for part in parts)
