"""`harness data`: data set utilities."""

from __future__ import annotations

import click


@click.group("data")
def data_group() -> None:
    """Data set utilities."""


@data_group.command("demo")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Folder to write the data set into.")
@click.option("--cases", type=int, default=12, show_default=True, help="Cases in total (a third validation).")
@click.option("--seed", type=int, default=0, show_default=True, help="Any seed gives a new, valid set.")
def demo_command(out_dir: str, cases: int, seed: int) -> None:
    """Write the synthetic FLARE-format demo data set."""
    from harness.data.demo import generate_demo
    from harness.errors import HarnessError

    if cases < 2:
        raise HarnessError(f"--cases {cases}: the demo set needs at least 2 cases (train and validation)")
    root = generate_demo(out_dir, cases=cases, seed=seed)
    click.echo(f"demo data set: {root} ({cases} cases, seed {seed}); use it with --data {root}")


@data_group.command("check")
@click.argument("data")
@click.option("--split", default=None, help="train, validation or test.")
def check_command(data: str, split: str | None) -> None:
    """Validate a data set's records (and that every image exists)."""
    from harness.data.loading import load_cases

    cases = load_cases(data, split=split)
    missing = [c for c in cases if c.image is None or not c.image.exists()]
    domains = {d: sum(c.domain == d for c in cases) for d in ("abdomen", "chest")}
    click.echo(
        f"{len(cases)} cases ({domains['abdomen']} abdomen, {domains['chest']} chest), {len(missing)} missing images"
    )
    if missing:
        from harness.errors import HarnessError

        raise HarnessError(f"image of case {missing[0].case_id} not found at {missing[0].image}")


COMMANDS = [data_group]
