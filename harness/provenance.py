"""What a result records about how it was made: versions, commit, plugins, device, date."""

from __future__ import annotations

import datetime as _dt
import hashlib
import subprocess
from collections.abc import Iterable
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import harness
from harness import plugins


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_files(paths: Iterable[Path]) -> str:
    """One digest over several files (sorted by name), e.g. the record JSONs of a data set."""
    paths = sorted({Path(p) for p in paths})
    if len(paths) == 1:
        return sha256_file(paths[0])
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + sha256_file(path).encode())
    return digest.hexdigest()


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the harness checkout (null outside a git checkout)."""
    where = cwd or Path(harness.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                    capture_output=True, text=True, timeout=10, check=True).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def _version(distribution: str) -> str | None:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None


def collect(*, device: str, dtype: str, batch_size: int, seed: int | None, wall_time_s: float) -> dict[str, Any]:
    plugin_versions = {
        info.distribution or info.module: info.version
        for info in plugins.plugin_infos()
        if not info.error and not info.blocked
    }
    return {
        "harness_version": harness.__version__,
        "git": git_state(),
        "plugins": dict(sorted(plugin_versions.items())),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "device": device,
        "dtype": dtype,
        "batch_size": batch_size,
        "seed": seed,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time_s, 3),
    }
