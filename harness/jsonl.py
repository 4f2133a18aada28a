"""Append-only JSON-lines files: the one store behind resumable predictions and the judge cache.

    >>> log = JsonlLog("p.jsonl")                                  # doctest: +SKIP
    >>> log.append([{"key": "a"}]); [row for _, row in log.load(dict)]  # doctest: +SKIP
    [{'key': 'a'}]

The torn-line policy, the same for every store built on this class: a line counts once its newline is on
disk. The bytes after the last newline are a torn write (the process died mid-append): ignored on reading
and cut off before the next append, so the next line starts on a line of its own. A newline-terminated line
that does not parse is damage, not a crash: `load` raises `DamagedLine` with its number and nothing is cut,
so valid lines after it are never lost. Blank lines are skipped. Every append is flushed and fsynced
before it returns, so a crash loses at most the append in flight.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import naming_path

T = TypeVar("T")


class DamagedLine(Exception):
    """A complete line of a JSONL store that is not what the store holds."""

    def __init__(self, path: Path, number: int, error: Exception) -> None:
        self.path, self.number, self.error = path, number, error
        super().__init__(f"{path}:{number}: {type(error).__name__}: {error}")


class JsonlLog:
    """One append-only JSONL file. With ``shared``, appends hold ``PATH.lock`` so several processes
    interleave whole lines only; an append that finds the file grown by another process calls ``reload``
    (which should call `load` again) before writing."""

    def __init__(self, path: str | Path, *, shared: bool = False) -> None:
        self.path = Path(path)
        self.shared = shared
        self.valid_bytes = 0
        """Length of the newline-terminated lines read or written so far: where the next append starts."""

    def load(self, parse: Callable[[Any], T]) -> list[T]:
        """``parse`` of each committed line's JSON value, in file order (an absent file: none). A line that
        is not JSON, or that ``parse`` refuses (ValueError, TypeError, KeyError, AttributeError), raises
        `DamagedLine`."""
        if not self.path.exists():
            self.valid_bytes = 0
            return []
        *complete, _torn = self.path.read_bytes().split(b"\n")
        out: list[T] = []
        for number, raw in enumerate(complete, start=1):
            if not raw.strip():
                continue
            try:
                out.append(parse(json.loads(raw)))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise DamagedLine(self.path, number, exc) from None
        self.valid_bytes = sum(len(raw) + 1 for raw in complete)
        return out

    def append(self, items: Iterable[Any], *, reload: Callable[[], None] | None = None) -> int:
        """Write ``items`` as JSON lines after the committed ones (cutting a torn tail) and fsync; returns how
        many were written."""
        lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode("utf-8")
        if not lines:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.shared:
            self._write(lines)
        else:
            from filelock import FileLock

            with FileLock(str(self.path) + ".lock"):
                size = self.path.stat().st_size if self.path.exists() else 0
                if size != self.valid_bytes and reload is not None:  # another process appended, or a torn tail
                    reload()
                self._write(lines)
        return lines.count(b"\n")

    def _write(self, data: bytes) -> None:
        with naming_path(self.path), self.path.open("ab") as handle:
            if handle.tell() != self.valid_bytes:
                handle.truncate(self.valid_bytes)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.valid_bytes += len(data)
