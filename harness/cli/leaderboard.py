"""`harness leaderboard`: add a run's result, build the generated files, check them (CI)."""

from __future__ import annotations

from pathlib import Path

import click

RESULTS_OPTION = click.option("--results", default="leaderboard/results", show_default=True, type=click.Path(),
                              help="Folder of result files (<model>/<task>.json).")
OUT_OPTION = click.option("--out", "out_dir", default="leaderboard", show_default=True, type=click.Path(),
                          help="Folder the generated files go to.")


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Build and check the leaderboard from result files."""


@leaderboard_group.command("add")
@click.argument("run_dir", type=click.Path())
@RESULTS_OPTION
@click.option("--force", is_flag=True, help="Replace an existing result file for the same model and task.")
def add_command(run_dir: str, results: str, force: bool) -> None:
    """Validate RUN_DIR/result.json and copy it to RESULTS/<model>/<task>.json."""
    from harness.leaderboard.collect import add_run

    target = add_run(Path(run_dir), Path(results), force=force)
    click.echo(f"added {target}; run `harness leaderboard build` and commit both")


@leaderboard_group.command("build")
@RESULTS_OPTION
@OUT_OPTION
def build_command(results: str, out_dir: str) -> None:
    """Generate README.md, leaderboard.csv, leaderboard.json, index.html and plots/ from the result files."""
    from harness.leaderboard import build

    for path in build(results, out_dir):
        click.echo(str(path))


@leaderboard_group.command("check")
@RESULTS_OPTION
@OUT_OPTION
def check_command(results: str, out_dir: str) -> None:
    """Exit 1 when a result is invalid, misplaced or duplicated, or a generated file is stale."""
    from harness.leaderboard import check

    problems = check(results, out_dir)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"leaderboard check: {len(problems)} problem(s)", err=True)
        raise SystemExit(1)  # not ctx.exit: `harness.cli.main` runs click with standalone_mode=False
    click.echo("leaderboard check: result files valid and generated files up to date")


COMMANDS = [leaderboard_group]
