"""`harness data`: data set utilities, for whichever task reads the data (`harness.taskdata.task_for_data`)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from harness.errors import HarnessError

TASK_HELP = "The task whose data format to use (default: the one task format installed, or the data set's owner)."


@click.group("data")
def data_group() -> None:
    """Data set utilities."""


@data_group.command("demo")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Folder to write the data set into.")
@click.option("--cases", type=int, default=12, show_default=True, help="Cases in total.")
@click.option("--seed", type=int, default=0, show_default=True, help="Any seed gives a new, valid set.")
@click.option("--task", "task_name", default=None, help=TASK_HELP)
@click.option("--layout", default=None, help="The file layout to write, where the task's format has several.")
@click.option("--demo-option", "demo_options", multiple=True, metavar="KEY=VALUE",
              help="Another option of the task's demo generator (typed by it). Repeatable.")
def demo_command(out_dir: str, cases: int, seed: int, task_name: str | None, layout: str | None,
                 demo_options: tuple[str, ...]) -> None:
    """Write a small synthetic data set in a task's format (`Task.write_demo`)."""
    from harness.options import parse_pairs, typed_options
    from harness.taskdata import task_for_data

    if cases < 1:
        raise HarnessError(f"--cases {cases}: give a number of cases of 1 or more")
    if seed < 0:
        raise HarnessError(f"--seed {seed}: give a seed of 0 or more")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise HarnessError(f"--out {out_dir}: is a file; pass a folder to write the data set into")
    task = task_for_data(task=task_name, data="demo")
    options = parse_pairs(demo_options, flag="--demo-option")
    if layout is not None:
        options["layout"] = layout
    typed = typed_options(task.write_demo, options, what=f"demo data of task '{task.name}'")
    root = task.write_demo(Path(out_dir), cases=cases, seed=seed, **typed)
    click.echo(f"demo data set: {root} ({cases} cases, seed {seed}); use it with --data {root}")


@data_group.command("check")
@click.argument("data")
@click.option("--split", default="all", show_default=True, help="train, validation, test or all.")
@click.option("--task", "task_name", default=None, help=TASK_HELP)
@click.option("--json", "as_json", is_flag=True,
              help="Print the check report (data identity, case counts, missing images) as JSON on stdout.")
def check_command(data: str, split: str, task_name: str | None, as_json: bool) -> None:
    """Validate a data set's records (and that every image exists), as the task that reads it does.

    DATA is a folder, a records file, a data set name (`harness list datasets`) or a Hub id.
    With --json a missing image is listed in the report (`"ok": false`) and the exit status is 1.
    """
    from harness.taskdata import task_for_data

    task = task_for_data(task=task_name, data=data)
    loaded = task.load_data(data, split=split)
    cases = loaded.cases
    missing = [c for c in cases if c.image is None or not Path(c.image).exists()]
    domains = dict(sorted(Counter(d for d in (getattr(c, "domain", None) for c in cases) if d).items()))
    identity = loaded.identity
    if as_json:
        report = {"ok": not missing, "task": task.name, "data": identity, "n_cases": len(cases), "domains": domains,
                  "missing_images": [{"case_id": c.case_id, "image": None if c.image is None else str(c.image)}
                                     for c in missing]}
        click.echo(json.dumps(report, indent=2, default=str, ensure_ascii=False))
        if missing:
            raise SystemExit(1)  # not ctx.exit: `harness.cli.main` runs click with standalone_mode=False
        return
    revision = f", revision {identity['revision']}" if identity.get("revision") else ""
    files = f": {len(identity['files'])} record file(s)" if "files" in identity else ""
    click.echo(f"{identity.get('name', data)} ({identity.get('split', split)} split{revision}){files}")
    kinds = f" ({', '.join(f'{n} {d}' for d, n in domains.items())})" if domains else ""
    click.echo(f"{len(cases)} cases{kinds}, {len(missing)} missing images")
    if missing:
        raise HarnessError(f"image of case {missing[0].case_id} not found at {missing[0].image}")


COMMANDS = [data_group]
