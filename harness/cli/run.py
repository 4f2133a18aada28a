"""`harness run`: build or load a model, generate for a task, score, write results."""

from __future__ import annotations

from typing import Any

import click


@click.command("run")
@click.option("--model", "model_name", required=True, help="Zoo name, checkpoint directory or hub id.")
@click.option("--task", "task_name", required=True, help="Task name, e.g. flare_report or flare_vqa.")
@click.option("--data", default=None,
              help="Data directory, JSON file, 'demo', or a hub data set id (default: the task's official set).")
@click.option("--out", "out_dir", default=None, help="Output directory (default runs/MODEL-TASK); rerunning resumes.")
@click.option("--split", default=None, help="Which split of --data (default: validation).")
@click.option("--limit", type=int, default=None, help="Only the first N cases.")
@click.option("--batch-size", type=int, default=1, show_default=True)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available).")
@click.option("--dtype", default=None, help="float32, bfloat16 or float16 (default: bf16 on GPU, fp32 on CPU).")
@click.option("--judge", default=None, help="GREEN judge for report tasks (default: the official GREEN model).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override an option: max_new_tokens, decoding=reference, style (med3dvlm|chat), seed, cache_dir.")
@click.option("--on-bad-case", type=click.Choice(["error", "skip"]), default="error", show_default=True,
              help="An unreadable image stops the run, or is skipped and listed in result.json.")
@click.option("--publish", is_flag=True, help="Also add the result to leaderboard/results/.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run_command(model_name: str, task_name: str, data: str | None, out_dir: str | None, split: str | None,
                limit: int | None, batch_size: int, device: str | None, dtype: str | None, judge: str | None,
                settings: tuple[str, ...], on_bad_case: str, publish: bool, quiet: bool) -> None:
    """Generate and score a task with a model. Rerunning into the same --out resumes.

    \b
    Examples:
      harness run --model med3dvlm-demo --task flare_vqa --data demo
      harness run --model med3dvlm-demo --task flare_report --data demo --judge lexical
      harness run --model med3dvlm --task flare_report --data /data/FLARE --batch-size 8
      torchrun --nproc-per-node 4 -m harness run --model med3dvlm --task flare_vqa --data /data/FLARE
    """
    from harness.runner import RunConfig, parse_settings, run

    options = {"on_bad_case": on_bad_case, **({"split": split} if split else {}), **parse_settings(settings)}
    config = RunConfig(model=model_name, task=task_name, data=data, out_dir=out_dir, limit=limit,
                       batch_size=batch_size, device=device, dtype=dtype, judge=judge, settings=options)
    result = run(config, progress=not quiet)
    if not result:  # a non-zero rank under torchrun: rank 0 reports
        return
    click.echo(format_scores(result["scores"]))
    click.echo(f"wrote {config.resolved_out_dir()}/{{predictions.jsonl,scores.json,result.json}}")
    if publish:
        from harness.leaderboard.collect import add_run

        click.echo(f"published {add_run(config.resolved_out_dir())}; run `harness leaderboard build`")


def format_scores(scores: dict[str, Any]) -> str:
    """A short table of the headline figures (and per-organ GREEN for report tasks)."""
    from tabulate import tabulate

    headline = [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in sorted(scores.items())
                if isinstance(v, (int, float)) and not isinstance(v, bool)]
    lines = [tabulate(headline, headers=["metric", "value"], disable_numparse=True)]
    if isinstance(scores.get("organs"), dict):
        all_cases = scores.get("organs_all_cases", {})
        rows = [(organ, value, all_cases.get(organ)) for organ, value in sorted(scores["organs"].items())]
        lines.append(tabulate(rows, headers=["organ", "GREEN (official)", "GREEN (all cases)"], floatfmt=".4f"))
    if scores.get("judge"):
        lines.append(f"judge: {scores['judge']}")
    return "\n\n".join(lines)


COMMANDS = [run_command]
