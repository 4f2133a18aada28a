"""`harness run`: build or load a model, generate for a task, score, write results (issue 5)."""

from __future__ import annotations

import click

from harness.errors import HarnessError


@click.command("run")
@click.option("--model", "model_name", required=True, help="Zoo name, checkpoint directory or hub id.")
@click.option("--task", "task_name", required=True, help="Task name, e.g. flare_report or flare_vqa.")
@click.option("--data", default=None, help="Data directory, JSON file, 'demo', or a hub data set id.")
@click.option("--out", "out_dir", default=None, help="Output directory (rerunning into it resumes).")
@click.option("--limit", type=int, default=None, help="Only the first N cases.")
@click.option("--batch-size", type=int, default=1, show_default=True)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available).")
@click.option("--dtype", default=None, help="float32, bfloat16 or float16.")
@click.option("--judge", default=None, help="GREEN judge for report tasks (default: the official one).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Override a task or decoding option.")
def run_command(**options: object) -> None:
    """Generate and score a task with a model; resumable."""
    raise HarnessError("`harness run` is not implemented yet")


COMMANDS = [run_command]
