"""The append-only predictions file that makes runs resumable.

Each finished prediction is one JSON line, flushed and fsynced as soon as its batch ends, so a killed run
loses at most the batch in flight. A torn last line (the process died mid-write) is ignored on reading
and cut off before the next append. Any other line that is not a prediction is an error naming the file
and line: the store never drops (or truncates away) valid predictions that follow a damaged one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from harness.errors import HarnessError, naming_path
from harness.task import Prediction


class PredictionStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._items: dict[str, Prediction] = {}
        self._valid_bytes = 0
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        lines = self.path.read_bytes().splitlines(keepends=True)
        for number, raw in enumerate(lines, start=1):
            last = number == len(lines)
            try:
                item = _parse_line(raw)
            except (ValueError, TypeError, KeyError) as exc:
                if last:
                    break  # torn write from a crash: dropped, and cut before the next append
                raise HarnessError(
                    f"{self.path}:{number}: not a prediction line ({type(exc).__name__}: {exc}); the lines after it "
                    f"are kept: repair or delete line {number}, or rerun with --overwrite to start again"
                ) from None
            if last and not raw.endswith(b"\n"):
                break  # a complete record whose newline never reached the disk: regenerated
            self._items.setdefault(item.key, item)
            self._valid_bytes += len(raw)

    @property
    def done(self) -> set[str]:
        return set(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[Prediction]:
        return list(self._items.values())

    def append(self, predictions: Iterable[Prediction]) -> None:
        new = [p for p in predictions if p.key not in self._items]
        if not new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with naming_path(self.path), self.path.open("ab") as handle:
            if handle.tell() != self._valid_bytes:
                handle.truncate(self._valid_bytes)
            data = "".join(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in new).encode()
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            self._valid_bytes += len(data)
        for p in new:
            self._items[p.key] = p


def _parse_line(raw: bytes) -> Prediction:
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        raise ValueError("expected a JSON object with a 'key'")
    return Prediction.from_json(data)
