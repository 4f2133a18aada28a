"""`harness finetune`: HF Trainer + DeepSpeed + LoRA (issue 6)."""

from __future__ import annotations

import click

from harness.errors import HarnessError


@click.command("finetune")
@click.option("--model", "model_name", required=True)
@click.option("--task", "task_name", required=True, help="A task name or 'all'.")
@click.option("--data", required=True)
@click.option("--out", "out_dir", required=True)
@click.option("--deepspeed", default=None, help="zero2, zero3 or a DeepSpeed JSON file.")
@click.option("--lora/--no-lora", default=None, help="Default: as the recipe says.")
@click.option("--epochs", type=float, default=None)
@click.option("--max-steps", type=int, default=None)
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
def finetune_command(**options: object) -> None:
    """Fine-tune a model on FLARE data."""
    raise HarnessError("`harness finetune` is not implemented yet")


COMMANDS = [finetune_command]
