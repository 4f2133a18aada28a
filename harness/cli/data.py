"""`harness data`: data set utilities (issue 4)."""

from __future__ import annotations

import click

from harness.errors import HarnessError


@click.group("data")
def data_group() -> None:
    """Data set utilities."""


@data_group.command("demo")
@click.option("--out", "out_dir", required=True, type=click.Path())
@click.option("--cases", type=int, default=12, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def demo_command(**options: object) -> None:
    """Write the synthetic FLARE-format demo data set."""
    raise HarnessError("`harness data demo` is not implemented yet")


COMMANDS = [data_group]
