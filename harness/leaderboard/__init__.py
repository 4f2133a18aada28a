"""The leaderboard: validated result files -> boards -> tables, page and plots.

    >>> from harness.leaderboard import build, check
    >>> build("leaderboard/results", "leaderboard")      # writes README.md, CSV, JSON, index.html, plots/
    >>> check("leaderboard/results", "leaderboard")      # [] when valid, unique and up to date

One board per (data set, split, judge): rankings never mix data sets, splits or judges.
Columns and extra tables come from the installed tasks' metric specs (`harness.task.MetricSpec`).
"""

from __future__ import annotations

from harness.leaderboard.build import build, check, render

__all__ = ["build", "check", "render"]
