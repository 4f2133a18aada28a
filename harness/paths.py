"""Where the harness keeps files of its own between commands: one rule for every cache.

    >>> judge_cache_dir() == cache_root() / "judge"
    True
    >>> str(judge_cache_dir("my-cache"))
    'my-cache'

The root is ``$HARNESS_CACHE``, else ``~/.cache/med3d-harness`` (read at each call, not at import). Judge
completions live in ``ROOT/judge`` for `harness run` and `harness score` alike (``--cache-dir`` overrides):
they are keyed by the judge's identity and the prompt, so they are valid for any run, and scoring a run's
predictions again, by either command, costs no judge call.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "judge_cache_dir"]


def cache_root() -> Path:
    """``$HARNESS_CACHE``, else ``~/.cache/med3d-harness``: generated data, judge completions."""
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "med3d-harness")


def judge_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The judge completion cache: ``cache_dir`` when given (``--cache-dir``), else ``cache_root()/judge``."""
    return Path(cache_dir) if cache_dir else cache_root() / "judge"
