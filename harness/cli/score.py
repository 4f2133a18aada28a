"""`harness score`: score existing predictions, the harness's predictions.jsonl or a file the task reads itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from harness.errors import HarnessError

FILE_ARGUMENTS = ("path", "ground_truth", "make_judge", "cache_dir")
"""What `harness score` passes `Task.score_file` itself; ``--score-option`` cannot set these."""


@click.command("score")
@click.argument("task_name", metavar="TASK")
@click.option("--predictions", required=True, type=click.Path(),
              help="predictions.jsonl from `harness run`, or a file the task reads itself (e.g. a reference "
                   "script's CSV; see the task's documentation).")
@click.option("--ground-truth", default=None, type=click.Path(),
              help="The task's records (what `harness run --data` takes): needed for predictions.jsonl and for "
                   "files that do not carry their references.")
@click.option("--judge", default=None, help="Judge for tasks that need one (default: the one the task declares).")
@click.option("--judge-option", "judge_options", multiple=True, metavar="KEY=VALUE",
              help="Judge option, e.g. model=ORG/MODEL, revision=SHA, dtype=bfloat16 (the judge checks its keys). "
                   "Repeatable.")
@click.option("--cache-dir", default=None, type=click.Path(),
              help="Judge completion cache (default $HARNESS_CACHE/judge or ~/.cache/med3d-harness/judge).")
@click.option("--score-option", "score_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the task's file scorer (typed by it; unknown keys are errors). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores object alone on stdout.")
def score_command(task_name: str, predictions: str, ground_truth: str | None, judge: str | None,
                  judge_options: tuple[str, ...], cache_dir: str | None, score_options: tuple[str, ...],
                  as_json: bool) -> None:
    """Score existing predictions, including files a task's reference scripts write.

    \b
    Examples:
      harness score TASK --predictions runs/x/predictions.jsonl --ground-truth DATA
      harness score TASK --predictions generated.csv --judge lexical --json
      harness score TASK --predictions answers.csv --ground-truth DATA --score-option KEY=VALUE
    """
    from harness import plugins
    from harness.options import parse_pairs
    from harness.paths import judge_cache_dir
    from harness.scoring.judging import create_judge, judge_name_for

    task = plugins.registry("tasks").create(task_name)
    options = parse_pairs(score_options, flag="--score-option")
    parse_pairs(judge_options)  # KEY=VALUE syntax now; values are typed by the judge when it is made
    scores = score_file(task, Path(predictions), Path(ground_truth) if ground_truth else None,
                        lambda: create_judge(judge_name_for(task, judge), judge_options),
                        judge_cache_dir(cache_dir), options)
    if as_json:
        click.echo(json.dumps(scores, indent=2, ensure_ascii=False))
        return
    from harness.scoring.table import format_scores

    click.echo(format_scores(scores))


def score_file(task: Any, predictions: Path, ground_truth: Path | None, make_judge: Callable[[], Any],
               cache_dir: Path, options: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Scores of one predictions file: predictions.jsonl through `harness.predictions.read_predictions` and
    `Task.score` against ``task.load_ground_truth(ground_truth)``; any other file through `Task.score_file`, with
    ``options`` typed by its signature. ``make_judge()`` is called only when a judge is needed."""
    from harness.options import typed_options
    from harness.predictions import read_predictions
    from harness.runner import score_with

    options = dict(options or {})
    if predictions.is_dir():
        raise HarnessError(f"--predictions {predictions} is a folder; pass its predictions.jsonl or a file of "
                           f"task '{task.name}'")
    if not predictions.is_file():
        raise HarnessError(f"predictions file {predictions} does not exist")
    if predictions.suffix.lower() == ".jsonl":
        if options:
            raise HarnessError(f"--score-option {next(iter(options))}: options are for files task '{task.name}' "
                               f"reads itself; {predictions} is the harness's predictions.jsonl")
        records = read_predictions(predictions)
        if ground_truth is None:
            raise HarnessError(f"{predictions}: task '{task.name}' scores predictions.jsonl against its records: "
                               "pass --ground-truth DATA (what `harness run --data` takes)")
        cases = task.load_ground_truth(ground_truth)
        judge = make_judge() if getattr(task, "needs_judge", False) else None
        return score_with(task, records, cases, judge=judge, cache_dir=cache_dir)
    reserved = sorted(set(options) & set(FILE_ARGUMENTS))
    if reserved:
        raise HarnessError(f"--score-option {reserved[0]}: set by `harness score` itself (--predictions, "
                           "--ground-truth, --judge, --cache-dir), not an option of the task")
    typed = typed_options(task.score_file, options, what=f"--score-option: task '{task.name}'")
    scores = task.score_file(predictions, ground_truth=ground_truth, make_judge=make_judge, cache_dir=cache_dir,
                             **typed)
    if scores is None:
        raise HarnessError(f"{predictions}: task '{task.name}' reads only predictions.jsonl (from `harness run`)")
    return scores


COMMANDS = [score_command]
