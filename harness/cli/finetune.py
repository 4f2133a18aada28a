"""`harness finetune`: HF Trainer + DeepSpeed + LoRA over the samples of one or more tasks."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import click


@click.command("finetune")
@click.option("--model", "model_name", required=True, help="Zoo name or harness checkpoint folder to start from.")
@click.option("--task", "task_name", required=True,
              help="A task name, a comma list, or 'all': every installed task of the data format --data is in, mixed.")
@click.option("--data", required=True,
              help="What the tasks read: a folder, a file, a data set name or hub id (harness list datasets).")
@click.option("--out", "out_dir", required=True, help="Output folder: checkpoints, log, final model.")
@click.option("--deepspeed", default=None, help="zero2, zero3, none or a DeepSpeed JSON file (default: zero2 on CUDA).")
@click.option("--lora/--no-lora", default=None, help="LoRA on the LLM (default: as the recipe says).")
@click.option("--merge-lora/--save-adapter", "merge_lora", default=None,
              help="At the end merge LoRA into the weights (default) or keep it as a peft adapter.")
@click.option("--epochs", type=float, default=None)
@click.option("--max-steps", type=int, default=None, help="Stop after N optimizer steps (overrides --epochs).")
@click.option("--lr", "learning_rate", type=float, default=None, help="Peak learning rate.")
@click.option("--batch-size", type=int, default=None, help="Per device.")
@click.option("--grad-accum", type=int, default=None, help="Gradient accumulation steps.")
@click.option("--save-steps", type=int, default=None, help="Checkpoint every N steps.")
@click.option("--seed", type=int, default=None)
@click.option("--split", default=None, help="Data split to train on (default: train).")
@click.option("--name", default=None,
              help="Name of the exported model, under which its results are filed (default: the --out folder's name).")
@click.option("--init", type=click.Choice(["weights", "base"]), default="weights", show_default=True,
              help="weights: start from the model's trained weights; base: from its pretrained parts only.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any training setting, e.g. lora_r=8, trainable=vision_tower,mm_projector, precision=bf16.")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option("--dry-run", is_flag=True, help="Print the resolved configuration and parameter counts, then stop.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the training summary (training.json: config and metrics) alone on stdout; logs go to "
                   "stderr. With --dry-run: the resolved configuration and parameter counts.")
@click.option("--local_rank", "--local-rank", "local_rank", type=int, default=None, hidden=True,
              help="Passed by the DeepSpeed launcher; the rank is read from LOCAL_RANK.")
def finetune_command(model_name: str, task_name: str, data: str, out_dir: str, settings: tuple[str, ...],
                     resume: bool, dry_run: bool, init: str, local_rank: int | None, as_json: bool,
                     **options: Any) -> None:
    """Fine-tune a model on the samples of one or more tasks (the model recipe's training settings by default).

    \b
    Examples:
      harness finetune --dry-run --model MODEL --task all --data DATA --out runs/ft
      harness finetune --model MODEL --init base --task TASK --data DATA --out runs/ft --max-steps 20
      torchrun --nproc-per-node 8 -m harness finetune --model MODEL --task all \\
          --data /data/DATA --out runs/ft --deepspeed zero2
      harness finetune ... --resume      # continue a stopped run from its newest checkpoint
      harness finetune ... --json        # the training summary as JSON on stdout (logs on stderr)
      harness push runs/ft --repo-id me/my-model     # publish the fine-tuned model on the Hub
    """
    from harness.distributed import Distributed
    from harness.settings import parse_settings, settings_of_dataclass
    from harness.training import dry_run as plan
    from harness.training import dry_run_summary as plan_summary
    from harness.training import finetune, resolve_run
    from harness.training.config import RUN_FIELDS, TrainConfig

    overrides = {key: value for key, value in options.items() if value is not None}
    overrides.update(parse_settings(settings, settings_of_dataclass(TrainConfig, exclude=RUN_FIELDS),
                                    noun="training setting"))
    cfg = resolve_run(model_name, task=task_name, data=data, out_dir=out_dir, overrides=overrides, resume=resume)
    if dry_run:
        click.echo(json.dumps(plan_summary(cfg, init=init), indent=2, default=str) if as_json else plan(cfg, init=init))
        return
    if not as_json:
        finetune(cfg, init=init)
        return
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer's log lines must not mix into the JSON
        out = finetune(cfg, init=init, log=lambda line: click.echo(line, err=True))
    if Distributed.from_env().is_main:  # under a launcher, one summary: rank 0's, which wrote it
        click.echo((out / "training.json").read_text(), nl=False)


COMMANDS = [finetune_command]
