"""The append-only predictions file that makes runs resumable.

Each finished prediction is one JSON line, flushed and fsynced as soon as its batch ends, so a killed run
loses at most the batch in flight. A torn last line (the process died mid-write) is ignored on reading
and cut off before the next append.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from harness.task import Prediction


class PredictionStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._items: dict[str, Prediction] = {}
        self._valid_bytes = 0
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        with self.path.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # torn write from a crash: drop it
                try:
                    item = Prediction.from_json(json.loads(raw))
                except (ValueError, TypeError):
                    break
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
        with self.path.open("ab") as handle:
            if handle.tell() != self._valid_bytes:
                handle.truncate(self._valid_bytes)
            data = "".join(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in new).encode()
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            self._valid_bytes += len(data)
        for p in new:
            self._items[p.key] = p


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON to a temporary file, then rename it over ``path``: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)
