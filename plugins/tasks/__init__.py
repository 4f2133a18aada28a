"""Built-in tasks. This module is the entry point: it registers lazy factories and imports nothing heavy.

Only the description is metadata here; what a task reads, asks and scores (data format, default data,
metrics, decoding, prompt styles, judge) the task class declares (`harness.task.Task`)."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_tasks(register):
    register(
        "flare_report",
        "harness_plugins.tasks.flare.tasks:FlareReportTask",
        description="FLARE 2025 Task 5 CT report generation, per-organ GREEN (official aggregation)",
    )
    register(
        "flare_vqa",
        "harness_plugins.tasks.flare.tasks:FlareVQATask",
        description="FLARE 2025 Task 5 VQA: global multi-label and local chain accuracy (official)",
    )
