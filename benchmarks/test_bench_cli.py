"""Start-up cost of the CLI: `harness list` in a fresh interpreter, as a user types it.

Run with `make bench` (or `pytest benchmarks --benchmark-only`). The figure to keep well under 2 s
is the mean; it includes interpreter start-up, entry point discovery and every plugin's import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(sys.executable).with_name("harness")
COMMAND = [str(HARNESS)] if HARNESS.exists() else [sys.executable, "-m", "harness"]


def run(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    subprocess.run([*COMMAND, *args], check=True, capture_output=True, env=env, timeout=60)


@pytest.mark.parametrize("args", [("list",), ("list", "--json"), ("plugins",)], ids=" ".join)
def test_cli_startup(benchmark, args):
    benchmark.pedantic(run, args=args, rounds=5, iterations=1, warmup_rounds=1)
