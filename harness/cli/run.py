"""`harness run`: build or load a model, generate for one or more tasks, score, write results."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from harness.cli.options import BATCH_SIZE, LIMIT, ON_BAD_CASE, verbosity


@click.command("run")
@click.option("--model", "model_name", required=True, help="Zoo name, checkpoint directory or hub id.")
@click.option("--task", "--tasks", "task_names", required=True,
              help="A task name, or several separated by commas (each into its own subfolder of --out).")
@click.option("--data", default=None,
              help="Data directory, JSON file, 'demo', or a hub data set id (default: the task's official set).")
@click.option("--out", "out_dir", default=None,
              help="Output folder (default runs/MODEL-TASK; runs/MODEL/TASK for several tasks); rerunning resumes.")
@click.option("--split", default=None, help="Which split of --data (default: validation).")
@click.option("--limit", type=LIMIT, default=None,
              help="Only the first N cases (an integer >= 1) or that fraction of them (0.25).")
@click.option("--batch-size", type=BATCH_SIZE, default="1", show_default=True,
              help="Requests per generate call, or 'auto' (1 on CPU; see docs/running.md).")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available).")
@click.option("--dtype", default=None, help="float32, bfloat16 or float16 (default: bf16 on GPU, fp32 on CPU).")
@click.option("--judge", default=None, help="Judge for tasks that need one (default: the one the task declares).")
@click.option("--judge-option", "judge_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the judge, e.g. batch_size=4 (the judge checks its keys). Repeatable.")
@click.option("--cache-dir", default=None, type=click.Path(),
              help="Judge completion cache (default $HARNESS_CACHE/judge or ~/.cache/med3d-harness/judge).")
@click.option("--seed", type=click.IntRange(min=0, max=2**64 - 1), default=None, help="Seed for sampled decoding.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="max_new_tokens, do_sample, temperature, top_p, top_k, num_beams, decoding=reference, style, "
                   "seed, split, on_bad_case, cache_dir, llm_options.KEY (unknown keys are errors).")
@click.option("--on-bad-case", type=ON_BAD_CASE, default="error", show_default=True,
              help="An unreadable image stops the run, or is skipped and listed in result.json.")
@click.option("--overwrite", is_flag=True, help="Start --out again instead of resuming it.")
@click.option("--publish", is_flag=True, help="Also add the result to leaderboard/results/.")
@click.option("--allow-partial", is_flag=True,
              help="With --publish: accept a partial run (--limit, skipped bad cases); the board marks it PARTIAL.")
@click.option("--json", "as_json", is_flag=True, help="Print the result object (one per task) as JSON on stdout.")
@click.option("--quiet", is_flag=True, help="No progress bar (same as the global -q).")
def run_command(model_name: str, task_names: str, out_dir: str | None, settings: tuple[str, ...],
                judge_options: tuple[str, ...], seed: int | None, publish: bool, allow_partial: bool, as_json: bool,
                quiet: bool,
                **fields: Any) -> None:
    """Generate and score tasks with a model. Rerunning into the same --out resumes.

    \b
    Examples:
      harness run --model MODEL --task TASK --data demo
      harness run --model MODEL --tasks TASK1,TASK2 --data demo --judge lexical --out runs/demo
      harness run --model MODEL --task TASK --data DATA --batch-size auto --limit 0.1
      torchrun --nproc-per-node 4 -m harness run --model MODEL --task TASK --data DATA
    """
    from harness.options import parse_pairs
    from harness.runner import load_generator, preflight, run
    from harness.runoptions import config_from_settings
    from harness.scoring.table import format_scores

    parse_pairs(judge_options)  # KEY=VALUE syntax, checked for every task; values are typed by the judge
    tasks = [name.strip() for name in task_names.split(",") if name.strip()]
    if not tasks or len(set(tasks)) != len(tasks):
        raise click.BadParameter(f"{task_names!r}: give task names separated by commas, each once", param_hint="--task")
    configs = [config_from_settings(settings, model=model_name, task=task, out_dir=_out_dir(out_dir, model_name,
                                                                                           task, len(tasks)),
                                    judge_options=judge_options,
                                    **({"seed": seed} if seed is not None else {}), **fields)
               for task in tasks]
    progress = not quiet and verbosity() >= 0 and sys.stderr.isatty()
    generator = None
    if len(configs) > 1:  # one model load for every task, after every task's options and judge are checked
        for config in configs:
            preflight(config)
        generator = load_generator(configs[0])
    results = {}
    for config in configs:
        result = run(config, progress=progress, generator=generator)
        if not result:  # a non-zero rank under torchrun: rank 0 reports
            return
        results[config.task] = result
        if not as_json:
            click.echo(format_scores(result["scores"]))
            click.echo(f"wrote {config.resolved_out_dir()}/{{predictions.jsonl,scores.json,result.json}}")
        if publish:
            from harness.leaderboard.collect import add_run

            published = add_run(config.resolved_out_dir(), allow_partial=allow_partial)
            click.echo(f"published {published}; run `harness leaderboard build`", err=as_json)
    if as_json:
        payload = next(iter(results.values())) if len(results) == 1 else results
        click.echo(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False))


def _out_dir(out_dir: str | None, model: str, task: str, n_tasks: int) -> Path | None:
    """One task: --out itself (default runs/MODEL-TASK). Several: one subfolder per task."""
    if n_tasks == 1:
        return Path(out_dir) if out_dir else None
    base = Path(out_dir) if out_dir else Path("runs") / (Path(model).name or "model")
    return base / task


COMMANDS = [run_command]
