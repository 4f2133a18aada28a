"""Atomic file writes: a reader (or a crash) never sees half a file.

Each write goes to a uniquely named temporary file beside the target (two writers never share one),
is flushed and fsynced, then renamed over the target. On failure (a full disk) the old file is untouched,
the temporary file is removed, and the error names the target, not its temporary.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path


def write_bytes_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically; a new file gets the usual mode, an existing one keeps its own."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with tmp.open("xb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: object) -> None:
    """``data`` as indented, key-sorted JSON (what result, score and run files use)."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
