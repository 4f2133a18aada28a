"""`harness bench`: throughput of the real architectures at random initialisation (see `harness.bench`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.errors import HarnessError

SECTIONS = ("vision", "generation", "judge", "training")


@click.command("bench")
@click.option("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when visible, else cpu).")
@click.option("--scale", type=click.Choice(["full", "tiny"]), default=None,
              help="full: the registered architectures; tiny: the same recipes shrunk (default on CPU).")
@click.option("--only", "only", multiple=True, type=click.Choice(SECTIONS),
              help="Measure only this part; repeatable (default: all).")
@click.option("--model", "model", default=None, metavar="NAME",
              help="Zoo model to measure (default: the one whose registration declares a bench workload).")
@click.option("--judge", "judge", default=None, metavar="NAME",
              help="Judge whose architecture is timed (default: the one declaring a bench architecture).")
@click.option("--task", "tasks", multiple=True, metavar="NAME",
              help="Task whose prompts are timed; repeatable (default: every task declaring a bench case).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the result JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON instead of the table.")
def bench_command(device: str | None, scale: str | None, only: tuple[str, ...], model: str | None,
                  judge: str | None, tasks: tuple[str, ...], out: Path | None, as_json: bool) -> None:
    """Vision tower volumes/s, generation prefill/decode tokens/s, GREEN judge s/sample, training MFU.

    \b
    Examples:
      harness bench --device cpu                       # tiny configurations, seconds
      harness bench --device cuda --out bench.json     # the full architectures on a GPU
      harness bench --model NAME --task TASK           # another zoo model, another task's prompts
    """
    from harness.bench.report import table
    from harness.bench.suite import run_bench
    from harness.generation import resolve_device

    if out is not None and out.parent and not out.parent.is_dir():
        raise HarnessError(f"--out {out}: folder {out.parent} does not exist; create it or choose another path")
    result = run_bench(resolve_device(device), sections=only or SECTIONS, scale=scale, model=model, judge=judge,
                       tasks=tasks)
    text = json.dumps(result, indent=2)
    if out is not None:
        out.write_text(text + "\n")
    click.echo(text if as_json else table(result))


COMMANDS = [bench_command]
