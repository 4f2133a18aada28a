"""The `harness` command line. Each subcommand lives in its own module of this package."""

from __future__ import annotations

from harness.cli.main import main

__all__ = ["main"]
