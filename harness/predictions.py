"""Predictions on disk: the append-only store that makes runs resumable, and the reader `harness score` uses.

Each finished prediction is one JSON line, flushed and fsynced as soon as its batch ends, so a killed run
loses at most the batch in flight. Torn and damaged lines follow the one policy of `harness.jsonl`: a torn
last line (the process died mid-write) is ignored and cut off before the next append; a complete line that
is not a prediction is an error naming the file and line, and nothing after it is dropped or truncated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.jsonl import DamagedLine, JsonlLog
from harness.task import Prediction


class PredictionStore:
    """The predictions of one run folder (or one rank's file), by key; the first line of a key wins."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._log = JsonlLog(self.path)
        self._items: dict[str, Prediction] = {}
        try:
            rows = self._log.load(parse_prediction)
        except DamagedLine as exc:
            raise HarnessError(
                f"{self.path}:{exc.number}: not a prediction line ({type(exc.error).__name__}: {exc.error}); the "
                f"lines after it are kept: repair or delete line {exc.number}, or rerun with --overwrite to start again"
            ) from None
        for item in rows:
            self._items.setdefault(item.key, item)

    @property
    def done(self) -> set[str]:
        return set(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[Prediction]:
        return list(self._items.values())

    def append(self, predictions: Iterable[Prediction]) -> None:
        new = {p.key: p for p in predictions if p.key not in self._items}
        self._log.append(p.to_json() for p in new.values())
        self._items.update(new)


def parse_prediction(data: Any) -> Prediction:
    """One JSON line as a `Prediction` (ValueError when it is not one)."""
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        raise ValueError("expected a JSON object with a 'key'")
    return Prediction.from_json(data)


def read_predictions(path: str | Path) -> list[Prediction]:
    """A predictions.jsonl as `harness score` reads it: every line a prediction, each key once.

    Unlike resuming (`PredictionStore`) nothing is tolerated: a run writes each key once, and a key on two
    lines (files joined, or spliced by two writers) would score that question twice, so it is refused with
    both line numbers; a torn last line is refused too (rerun `harness run` into the folder to repair it)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise HarnessError(f"predictions file {path} does not exist") from None
    except IsADirectoryError:
        raise HarnessError(f"--predictions {path} is a folder; pass its predictions.jsonl") from None
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); expected the JSON "
                           "lines `harness run` writes") from None
    out: list[Prediction] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(parse_prediction(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise HarnessError(
                f"{path} line {number} is not a prediction record ({type(exc).__name__}: {exc}); "
                "expected the JSON lines `harness run` writes"
            ) from None
        first = seen.setdefault(out[-1].key, number)
        if first != number:
            raise HarnessError(f"{path} line {number} repeats the key {out[-1].key!r} of line {first}; a predictions "
                               "file holds each question once: remove the duplicate or rerun `harness run`")
    return out
