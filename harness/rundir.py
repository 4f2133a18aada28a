"""The output folder of `harness run`: one writer at a time, and resumes only of the same run.

    >>> from harness.rundir import RunDir
    >>> with RunDir("runs/x") as folder:                                  # doctest: +SKIP
    ...     folder.start(fingerprint, overwrite=False)   # refuses another run's predictions
    ...     folder.add_wall_time(12.5)                   # summed over invocations

``run.json`` holds the run's *fingerprint* (what made the predictions: model identity and weights hash,
task and version, prompt style, decoding per scope, data identity, the case ids asked for) and the wall
time of every invocation so far. A rerun with the same fingerprint resumes; any difference is refused in
one line naming the first field that differs, unless ``overwrite`` starts the folder again. An exclusive
lock (``.harness.lock``, the `filelock` package) refuses a second concurrent run into the same folder.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from harness.atomic import write_json_atomic
from harness.errors import HarnessError

RUN_FILE = "run.json"
OUTPUTS = ("predictions.jsonl", "scores.json", "result.json", RUN_FILE)
"""What a run writes (besides per-rank prediction and bad-case files); ``--overwrite`` removes these. The
judge cache lives outside the folder (`harness.paths.judge_cache_dir`): keyed by the judge's identity and
the prompt, it is valid for any run."""


class RunDir:
    """The lock and the fingerprint of one output folder. Under torchrun every rank holds its own lock
    file (rank 0 the folder's), and only rank 0 writes ``run.json``."""

    def __init__(self, path: str | Path, *, rank: int = 0) -> None:
        self.path = Path(path)
        self.rank = rank
        self.started = False
        self.timed = False
        """Whether this invocation's wall time is recorded (`add_wall_time` records it once)."""
        self._lock: Any = None
        self._created: Path | None = None
        """The topmost folder this invocation created for ``path``: removed again if the run fails before `start`."""

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    def __enter__(self) -> RunDir:
        from filelock import FileLock, Timeout

        if self.path.exists() and not self.path.is_dir():
            raise HarnessError(f"--out {self.path} is an existing file; pass a folder (it is created if missing)")
        missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
        self._created = missing[-1] if missing else None
        self.path.mkdir(parents=True, exist_ok=True)
        name = ".harness.lock" if self.rank == 0 else f".harness.rank{self.rank}.lock"
        lock = FileLock(self.path / name)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise HarnessError(
                f"another harness run is writing to {self.path} (it holds {self.path / name}); wait for it to "
                f"finish or pass another --out"
            ) from None
        self._lock = lock
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.release()
            if not self.started and self._created is not None:
                self._remove_created()
            self._lock = None

    def _remove_created(self) -> None:
        """A run that failed before `start` (bad data, a model that cannot load) leaves no new --out behind."""
        lock = Path(self._lock.lock_file)
        if [p.name for p in self.path.iterdir()] != [lock.name]:
            return  # another rank's lock, or files: not ours alone to remove
        with contextlib.suppress(OSError):
            lock.unlink()
            for folder in (self.path, *self.path.parents):
                folder.rmdir()
                if folder == self._created:
                    break

    def _saved(self) -> dict[str, Any] | None:
        if not self.run_file.is_file():
            return None
        try:
            data = json.loads(self.run_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("fingerprint"), dict):
            raise HarnessError(f"{self.run_file} is damaged; rerun with --overwrite to start the folder again")
        return data

    def expect(self, where: str, value: Any) -> None:
        """Refuse early, before anything loads, when the saved fingerprint's ``where`` (a dotted path) differs."""
        saved = self._saved()
        if saved is None:
            return
        old: Any = saved["fingerprint"]
        for key in where.split("."):
            old = old.get(key) if isinstance(old, dict) else None
        if old is not None and old != value:
            raise HarnessError(self._refusal(where, old, value))

    def _refusal(self, where: str, old: Any, new: Any) -> str:
        return (f"{self.path} holds predictions of another run ({where}: {_brief(old)} there, {_brief(new)} now); "
                f"pass --overwrite to start again, or another --out")

    def start(self, fingerprint: dict[str, Any], *, overwrite: bool = False) -> None:
        """Refuse a folder that holds another run's predictions; record this run's fingerprint. With
        ``overwrite`` rank 0 clears the folder and every other rank its own predictions file."""
        if overwrite:
            self._clear()
            if self.rank != 0:  # rank 0 may not have cleared run.json yet
                self.started = True
                return
        saved = self._saved()
        fresh = saved is None
        if saved is None:
            leftovers = sorted(p.name for p in self.path.glob("predictions*.jsonl"))
            if leftovers:
                raise HarnessError(
                    f"{self.path} holds {leftovers[0]} without {RUN_FILE}, so what made those predictions is "
                    f"unknown; pass --overwrite to start again, or another --out"
                )
            saved = {"fingerprint": fingerprint, "invocations": []}
        else:
            difference = first_difference(saved["fingerprint"], fingerprint)
            if difference is not None:
                raise HarnessError(self._refusal(*difference))
        if self.rank == 0 and fresh:
            write_json_atomic(self.run_file, saved)
        self.started = True

    def add_wall_time(self, seconds: float) -> float:
        """Record this invocation's wall time (once); returns the total over every invocation of this run."""
        if not self.started:
            raise RuntimeError("RunDir.start() must come before add_wall_time()")
        saved = self._saved() or {}
        invocations = saved.setdefault("invocations", [])
        if not self.timed:
            invocations.append({"wall_time_s": round(seconds, 3)})
            if self.rank == 0:
                write_json_atomic(self.run_file, saved)
            self.timed = True
        return round(sum(float(item.get("wall_time_s", 0.0)) for item in invocations), 3)

    def _clear(self) -> None:
        """Each rank removes its own predictions file (another rank may be writing its own already)."""
        (self.path / f"predictions.rank{self.rank}.jsonl").unlink(missing_ok=True)
        if self.rank == 0:
            for name in OUTPUTS:
                (self.path / name).unlink(missing_ok=True)


def first_difference(old: Any, new: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """The first (dotted path, old, new) where two JSON values differ, or None when they are equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            found = first_difference(old.get(key), new.get(key), f"{where}.{key}" if where else key)
            if found is not None:
                return found
        return None
    return None if old == new else (where or "fingerprint", old, new)


def _brief(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
