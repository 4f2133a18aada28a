"""`harness score`: score existing predictions, the harness's own or the reference scripts' CSV files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from harness.errors import HarnessError

CSV_KINDS = {"flare_report": "report (name, gt, generated)", "flare_vqa": "VQA (case_id, scope, question_id, ...)"}


@click.command("score")
@click.argument("task_name", metavar="TASK")
@click.option("--predictions", required=True, type=click.Path(),
              help="predictions.jsonl from `harness run`, or a reference CSV (report: name, gt, generated; "
                   "VQA: case_id, scope, question_id, question, prediction).")
@click.option("--ground-truth", default=None, type=click.Path(),
              help="FLARE records JSON (needed for VQA and for predictions.jsonl; a report CSV carries its gt).")
@click.option("--judge", default=None, help="GREEN judge for report tasks (default: hf, the official GREEN model).")
@click.option("--judge-option", "judge_options", multiple=True, metavar="KEY=VALUE",
              help="Judge option, e.g. model=StanfordAIMI/GREEN-RadPhi2, revision=SHA, dtype=bfloat16. Repeatable.")
@click.option("--cache-dir", default=None, type=click.Path(),
              help="Judge completion cache (default $HARNESS_CACHE/judge or ~/.cache/med3d-harness/judge).")
@click.option("--local-separator", type=click.Choice(["|", ","]), default="|", show_default=True,
              help="VQA CSV: separator between a local chain's answers; ',' scores submissions written before "
                   "the organisers' 'fix VQA eval' commit (2025-06-23).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores object alone on stdout.")
def score_command(task_name: str, predictions: str, ground_truth: str | None, judge: str | None,
                  judge_options: tuple[str, ...], cache_dir: str | None, local_separator: str, as_json: bool) -> None:
    """Score existing predictions, including the Med3DVLM/FLARE scripts' CSV files.

    \b
    Examples:
      harness score flare_vqa --predictions predictions.csv --ground-truth validation.json
      harness score flare_report --predictions generated.csv --judge lexical --json
      harness score flare_report --predictions runs/x/predictions.jsonl --ground-truth val.json \\
          --judge hf --judge-option model=StanfordAIMI/GREEN-RadPhi2
    """
    from harness import plugins
    from harness.scoring.judging import create_judge

    task = plugins.registry("tasks").create(task_name)
    cache = Path(cache_dir) if cache_dir else None
    scores = score_file(task, Path(predictions), Path(ground_truth) if ground_truth else None,
                        lambda: create_judge(judge, judge_options), cache, local_separator=local_separator)
    if as_json:
        click.echo(json.dumps(scores, indent=2, ensure_ascii=False))
        return
    from harness.scoring.table import format_scores

    click.echo(format_scores(scores))


def score_file(task: Any, predictions: Path, ground_truth: Path | None, make_judge: Any,
               cache_dir: Path | None, *, local_separator: str = "|") -> dict[str, Any]:
    """Scores for one predictions file; ``make_judge()`` is called only when reports are scored."""
    from harness.scoring.judging import default_cache_dir
    from harness_plugins.tasks.flare import files as io

    if predictions.is_dir():
        raise HarnessError(f"--predictions {predictions} is a folder; pass its predictions.jsonl or a reference .csv")
    if not predictions.is_file():
        raise HarnessError(f"predictions file {predictions} does not exist")
    cache_dir = cache_dir or default_cache_dir()
    suffix = predictions.suffix.lower()
    if suffix == ".csv":
        kind = _csv_kind(predictions, io.csv_columns(predictions))
        if kind != task.name:
            raise HarnessError(
                f"{predictions} is a {CSV_KINDS[kind]} CSV, which scores as `harness score {kind}`, not {task.name}"
            )
        if kind == "flare_report":
            from harness.scoring.judging import GreenScorer
            from harness_plugins.tasks.flare.report import score_reports

            return score_reports(io.read_report_csv(predictions), GreenScorer(make_judge(), cache_dir=cache_dir))
        from harness_plugins.tasks.flare.vqa import score_vqa

        return score_vqa(io.read_vqa_csv(predictions), io.read_records(_require_truth(ground_truth, kind)),
                         local_separator=local_separator)
    if local_separator != "|":
        raise HarnessError(f"--local-separator '{local_separator}' is for reference VQA CSV files; {predictions} "
                           "was written by the harness with '|'")
    if suffix in (".jsonl", ".json"):
        records = io.read_predictions_jsonl(predictions)
        cases = io.read_records(_require_truth(ground_truth, task.name))
        judge = make_judge() if any(p.scope == "report" for p in records) else None
        return task.score(records, cases, judge=judge, cache_dir=cache_dir)
    raise HarnessError(f"{predictions}: expected predictions.jsonl from `harness run` or a reference .csv file")


def _csv_kind(path: Path, columns: list[str]) -> str:
    from harness_plugins.tasks.flare.files import REPORT_COLUMNS, VQA_COLUMNS

    for kind, wanted in (("flare_report", REPORT_COLUMNS), ("flare_vqa", VQA_COLUMNS)):
        if set(wanted) <= set(columns):
            return kind
    raise HarnessError(
        f"{path} has the columns {', '.join(columns) or 'none'}; a report CSV needs {', '.join(REPORT_COLUMNS)} "
        f"and a VQA CSV {', '.join(VQA_COLUMNS)}"
    )


def _require_truth(ground_truth: Path | None, task_name: str) -> Path:
    if ground_truth is None:
        raise HarnessError(f"{task_name} predictions need --ground-truth FILE (the FLARE records JSON)")
    return ground_truth


COMMANDS = [score_command]
