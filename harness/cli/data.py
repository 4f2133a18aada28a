"""`harness data`: data set utilities."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.errors import HarnessError


@click.group("data")
def data_group() -> None:
    """Data set utilities."""


@data_group.command("demo")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Folder to write the data set into.")
@click.option("--cases", type=int, default=12, show_default=True, help="Cases in total (a third validation).")
@click.option("--seed", type=int, default=0, show_default=True, help="Any seed gives a new, valid set.")
@click.option("--layout", type=click.Choice(["flare2025", "flare2026"]), default="flare2025", show_default=True,
              help="Published file names: FLARE 2025's 'CT-RATE-Tr .json' (with a space) or FLARE 2026's.")
def demo_command(out_dir: str, cases: int, seed: int, layout: str) -> None:
    """Write the synthetic FLARE-format demo data set, in the published FLARE layout."""
    from harness_plugins.tasks.flare.demo import generate_demo

    if cases < 2:
        raise HarnessError(f"--cases {cases}: the demo set needs at least 2 cases (train and validation)")
    if seed < 0:
        raise HarnessError(f"--seed {seed}: give a seed of 0 or more")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise HarnessError(f"--out {out_dir}: is a file; pass a folder to write the data set into")
    try:
        root = generate_demo(out_dir, cases=cases, seed=seed, layout=layout)
    except OSError as exc:
        from harness_plugins.tasks.flare.preprocess import write_error

        raise write_error(Path(exc.filename or out_dir), exc) from None
    click.echo(f"demo data set: {root} ({cases} cases, seed {seed}); use it with --data {root}")


@data_group.command("check")
@click.argument("data")
@click.option("--split", default="all", show_default=True, help="train, validation, test or all.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the check report (data identity, case counts, missing images) as JSON on stdout.")
def check_command(data: str, split: str, as_json: bool) -> None:
    """Validate a data set's records (and that every image exists).

    DATA is a folder, a JSON file, a data set name (`harness list datasets`) or a Hub id.
    With --json a missing image is listed in the report (`"ok": false`) and the exit status is 1.
    """
    from harness_plugins.tasks.flare.loading import load_data

    loaded = load_data(data, split=split)
    cases = loaded.cases
    missing = [c for c in cases if c.image is None or not c.image.exists()]
    domains = {d: sum(c.domain == d for c in cases) for d in ("abdomen", "chest")}
    identity = loaded.identity
    if as_json:
        report = {"ok": not missing, "data": identity, "n_cases": len(cases), "domains": domains,
                  "missing_images": [{"case_id": c.case_id, "image": None if c.image is None else str(c.image)}
                                     for c in missing]}
        click.echo(json.dumps(report, indent=2, default=str, ensure_ascii=False))
        if missing:
            raise SystemExit(1)  # not ctx.exit: `harness.cli.main` runs click with standalone_mode=False
        return
    revision = f", revision {identity['revision']}" if identity.get("revision") else ""
    click.echo(f"{identity['name']} ({identity['split']} split{revision}): {len(identity['files'])} record file(s)")
    click.echo(
        f"{len(cases)} cases ({domains['abdomen']} abdomen, {domains['chest']} chest), {len(missing)} missing images"
    )
    if missing:
        raise HarnessError(f"image of case {missing[0].case_id} not found at {missing[0].image}")


COMMANDS = [data_group]
