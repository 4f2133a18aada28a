"""`harness leaderboard`: add a run's result, build the generated files, check them (CI)."""

from __future__ import annotations

import json
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
@click.option("--allow-partial", is_flag=True,
              help="Add a run on part of its data set (e.g. --limit); the board marks it PARTIAL.")
def add_command(run_dir: str, results: str, force: bool, allow_partial: bool) -> None:
    """Validate RUN_DIR/result.json and copy it, with the run's predictions, to RESULTS/<model>/."""
    from harness.leaderboard.cases import predictions_path
    from harness.leaderboard.collect import add_run

    target = add_run(Path(run_dir), Path(results), force=force, allow_partial=allow_partial)
    predictions = target.with_name(Path(predictions_path(target.name)).name)
    if predictions.exists():
        click.echo(f"added {target} and {predictions}; run `harness leaderboard build` and commit them")
    else:
        click.echo(f"added {target}; run `harness leaderboard build` and commit it")
        click.echo(f"note: {Path(run_dir) / 'predictions.jsonl'} not found: the per-case browser will not show "
                   "this run", err=True)


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
@click.option("--json", "as_json", is_flag=True, help='Print {"ok": ..., "problems": [...]} on stdout.')
def check_command(results: str, out_dir: str, as_json: bool) -> None:
    """Exit 1 when a result or predictions file is invalid, misplaced or duplicated, or a generated file is stale."""
    from harness.leaderboard import check

    problems = check(results, out_dir)
    if as_json:
        click.echo(json.dumps({"ok": not problems, "problems": problems}, indent=2))
    else:
        for problem in problems:
            click.echo(problem, err=True)
    if problems:
        if not as_json:
            click.echo(f"leaderboard check: {len(problems)} problem(s)", err=True)
        raise SystemExit(1)  # not ctx.exit: `harness.cli.main` runs click with standalone_mode=False
    if not as_json:
        click.echo("leaderboard check: result files valid and generated files up to date")


COMMANDS = [leaderboard_group]
