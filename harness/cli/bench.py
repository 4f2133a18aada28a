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
              help="full: the published architectures; tiny: the same recipes shrunk (default on CPU).")
@click.option("--only", "only", multiple=True, type=click.Choice(SECTIONS),
              help="Measure only this part; repeatable (default: all).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the result JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON instead of the table.")
def bench_command(device: str | None, scale: str | None, only: tuple[str, ...], out: Path | None,
                  as_json: bool) -> None:
    """Vision tower volumes/s, generation prefill/decode tokens/s, GREEN judge s/sample, training MFU.

    \b
    Examples:
      harness bench --device cpu                       # tiny configurations, seconds
      harness bench --device cuda --out bench.json     # the 7B architectures on a GPU
    """
    from harness.bench.report import table
    from harness.bench.suite import run_bench
    from harness.generation import resolve_device

    if out is not None and out.parent and not out.parent.is_dir():
        raise HarnessError(f"--out {out}: folder {out.parent} does not exist; create it or choose another path")
    result = run_bench(resolve_device(device), sections=only or SECTIONS, scale=scale)
    text = json.dumps(result, indent=2)
    if out is not None:
        out.write_text(text + "\n")
    click.echo(text if as_json else table(result))


COMMANDS = [bench_command]
