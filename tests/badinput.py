"""The bad-input contract every `tests/test_bad_inputs_*.py` sweep asserts.

A bad input (file, option, checkpoint, disk state) must end the command with exit status 2 (or the
documented code), one ``error:`` line on stderr that names the input, no Python traceback, and no
change to anything written before. Each area of the harness keeps its cases in its own sweep file and
checks them with `assert_one_line_error` and `snapshot`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HARNESS = [sys.executable, "-m", "harness"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """`harness ARGS...` in a subprocess, offline, with no standard input."""
    return subprocess.run([*HARNESS, *args], env={**ENV, **(env or {})}, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, *names: str, code: int = 2) -> str:
    """Exit ``code``, no traceback, and exactly one ``error:`` line that mentions each of ``names``."""
    stderr = result.stderr
    assert "Traceback" not in stderr, stderr
    assert result.returncode == code, (result.returncode, stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    for name in names:
        assert str(name) in errors[0], (name, errors[0])
    return errors[0]


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``: compare before and after a failed command."""
    root = Path(root)
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def disk_full_after_fsyncs(monkeypatch, allowed: int) -> Iterator[None]:
    """Within the block, the append-only JSONL stores' fsync (`harness.jsonl`) raises ENOSPC after ``allowed``
    calls, as a full disk does: an OSError that names no file."""
    import harness.jsonl

    real_fsync, calls = os.fsync, []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) > allowed:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(harness.jsonl.os, "fsync", fsync)
        yield
