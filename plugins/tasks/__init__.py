"""Built-in tasks. This module is the entry point: it registers lazy factories and imports nothing heavy.

Metadata here: the description and the `harness bench` workload (``bench=``). What a task reads, asks and
scores (data format, default data, metrics, decoding, prompt styles, judge) the task class declares
(`harness.task.Task`)."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_tasks(register):
    register(
        "flare_report",
        "harness_plugins.tasks.flare.tasks:FlareReportTask",
        description="FLARE 2025 Task 5 CT report generation, per-organ GREEN (official aggregation)",
        bench={"case": "harness_plugins.tasks.flare.bench:bench_case", "new_tokens": {"full": 256, "tiny": 8},
               "judge_calls_per_case": 15},
    )
    register(
        "flare_vqa",
        "harness_plugins.tasks.flare.tasks:FlareVQATask",
        description="FLARE 2025 Task 5 VQA: global multi-label and local chain accuracy (official)",
        bench={"case": "harness_plugins.tasks.flare.bench:bench_case", "new_tokens": {"full": 64, "tiny": 4}},
    )
