"""User-facing errors: one line that names the bad input and the fix.

The CLI prints ``error: <message>`` for these and exits with status 2, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


class HarnessError(Exception):
    """Bad input or environment the user can fix. The message is shown as is."""


class UnknownNameError(HarnessError, KeyError):
    """A component name that no installed plugin registered."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0] if self.args else ""


class PluginError(HarnessError):
    """A plugin that failed to import or to register (fatal only in strict mode)."""


class UnavailableError(HarnessError):
    """Something this machine lacks (offline weights, a missing optional package, no GPU): the input may be
    fine elsewhere. Conformance checks skip a component for this reason only."""


@contextlib.contextmanager
def naming_path(path: str | Path) -> Iterator[None]:
    """Give an `OSError` raised without a file name (a ``write`` or ``fsync`` on a full disk) the name of
    ``path``, so that the CLI's one line says which file could not be written."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
