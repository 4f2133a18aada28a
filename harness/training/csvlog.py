"""A training logger that needs no account: one CSV row per logging step (TensorBoard and W&B are the
Trainer's own ``report_to`` integrations)."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm", "seconds")


class CsvLogCallback(TrainerCallback):
    """Appends ``step, epoch, loss, learning_rate, grad_norm, seconds`` to ``path`` on the main process; a
    resumed run appends after the rows of the steps it keeps."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.start = time.monotonic()

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
