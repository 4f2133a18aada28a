"""`harness score`: score existing predictions (issue 5)."""

from __future__ import annotations

import click

from harness.errors import HarnessError


@click.command("score")
@click.argument("task_name", metavar="TASK")
@click.option("--predictions", required=True, type=click.Path(), help="Predictions (CSV or JSONL).")
@click.option("--ground-truth", default=None, type=click.Path(), help="FLARE records JSON.")
@click.option("--judge", default=None, help="GREEN judge for report tasks.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores object alone on stdout.")
def score_command(**options: object) -> None:
    """Score existing predictions, including the Med3DVLM/FLARE scripts' CSV files."""
    raise HarnessError("`harness score` is not implemented yet")


COMMANDS = [score_command]
