"""Run a command as if some packages were not installed: ``python tests/blocked_imports.py -m harness ARGS``.

A meta-path finder, first on ``sys.meta_path``, answers every import of a blocked package (or of one of
its submodules) with ``ModuleNotFoundError``, as a machine without it would. ``importlib.util.find_spec``
of a blocked name returns None, so that libraries probing for optional packages (transformers does)
take their "not installed" branch. Blocked names come from ``HARNESS_BLOCK_IMPORTS`` (comma-separated).
At exit it prints ``blocked_imports: attempted [...]`` on stderr: each blocked import tried, as
``module <- importing file``, so a test can tell the harness's own imports from a third-party library's
guarded probe (fsspec, under peft, tries ``isal`` and carries on without it).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import runpy
import sys
from importlib.abc import MetaPathFinder

BLOCKED = tuple(n for n in os.environ.get("HARNESS_BLOCK_IMPORTS", "").split(",") if n)
ATTEMPTED: list[str] = []


class Blocker(MetaPathFinder):
    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001 (importlib's signature)
        if fullname.partition(".")[0] in BLOCKED:
            ATTEMPTED.append(f"{fullname} <- {_importer()}")
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked by tests/blocked_imports.py)",
                                      name=fullname)
        return None


def _importer() -> str:
    """The file of the first frame outside the import machinery: the module doing the import."""
    frame = sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                 or frame.f_code.co_filename == __file__):
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else "?"


_find_spec = importlib.util.find_spec


def _probe(name: str, package: str | None = None):  # noqa: ANN202
    if name.partition(".")[0] in BLOCKED:
        return None
    return _find_spec(name, package)


def _report() -> None:
    print(f"blocked_imports: attempted {sorted(set(ATTEMPTED))}", file=sys.stderr)


def install() -> None:
    sys.meta_path.insert(0, Blocker())
    importlib.util.find_spec = _probe
    atexit.register(_report)


if __name__ == "__main__":
    install()
    if sys.argv[1:2] != ["-m"] or len(sys.argv) < 3:
        raise SystemExit("usage: python tests/blocked_imports.py -m MODULE [ARGS...]")
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
