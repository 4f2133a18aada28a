"""`harness leaderboard`: build and check the leaderboard (issue 7)."""

from __future__ import annotations

import click

from harness.errors import HarnessError


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Build and check the leaderboard from result files."""


@leaderboard_group.command("build")
@click.option("--results", default="leaderboard/results", show_default=True, type=click.Path())
@click.option("--out", "out_dir", default="leaderboard", show_default=True, type=click.Path())
def build_command(**options: object) -> None:
    """Generate tables, page and plots from the result files."""
    raise HarnessError("`harness leaderboard build` is not implemented yet")


@leaderboard_group.command("check")
@click.option("--results", default="leaderboard/results", show_default=True, type=click.Path())
@click.option("--out", "out_dir", default="leaderboard", show_default=True, type=click.Path())
def check_command(**options: object) -> None:
    """Fail when a result is invalid or duplicated, or generated files are stale."""
    raise HarnessError("`harness leaderboard check` is not implemented yet")


COMMANDS = [leaderboard_group]
