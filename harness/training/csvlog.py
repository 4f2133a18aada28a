"""A training logger that needs no account: one CSV row per logging step (TensorBoard and W&B are the
Trainer's own ``report_to`` integrations).

A resumed run first cuts the log back to the step it resumes from (`truncate_log`), so the rows of the
steps it trains again are not repeated, and its ``seconds`` go on from the last row kept.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm", "seconds")


class CsvLogCallback(TrainerCallback):
    """Appends ``step, epoch, loss, learning_rate, grad_norm, seconds`` to ``path`` on the main process; a
    resumed run appends after the rows of the steps it keeps."""

    def __init__(self, path: Path, *, seconds_before: float = 0.0) -> None:
        self.path = Path(path)
        self.start = time.monotonic() - seconds_before

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.is_file()
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(COLUMNS)
            writer.writerow([state.global_step, logs.get("epoch", state.epoch), logs.get("loss"),
                             logs.get("learning_rate"), logs.get("grad_norm"),
                             round(time.monotonic() - self.start, 2)])


def read_log(path: str | Path) -> list[dict[str, float]]:
    """The rows of a CSV training log as floats (empty cells dropped)."""
    with Path(path).open(newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]


def truncate_log(path: str | Path, step: int) -> float:
    """Keep the rows of steps up to ``step`` (none for 0), rewriting the file atomically; a torn last row goes
    too. Returns the ``seconds`` of the last row kept (0.0 when none), for the resumed run to continue from."""
    path = Path(path)
    if not path.is_file():
        return 0.0
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    kept = [row for row in rows[1:] if _step_of(row) is not None and _step_of(row) <= step and len(row) == len(COLUMNS)]
    handle_no, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(handle_no, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(kept)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    try:
        return float(kept[-1][COLUMNS.index("seconds")]) if kept else 0.0
    except ValueError:
        return 0.0


def _step_of(row: list[str]) -> int | None:
    try:
        return int(float(row[0]))
    except (IndexError, ValueError):
        return None
