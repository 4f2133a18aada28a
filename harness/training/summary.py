"""The resolved configuration as a readable block, and the dry run that prints it without training.

The dry run builds the model on the meta device (no weights, no download) so even the 7B recipe's
trainable-parameter counts print in seconds on a laptop.
"""

from __future__ import annotations

from typing import Any

from harness.distributed import Distributed
from harness.training.config import TrainConfig, resolved_precision
from harness.training.export import model_name
from harness.training.parts import count_parameters
from harness.training.zero import zero_stage


def _fmt(n: int) -> str:
    return f"{n:,}"


def _precision_text(cfg: TrainConfig, cuda: bool) -> str:
    here, on_gpu = resolved_precision(cfg, cuda), resolved_precision(cfg, True)
    return here if cuda or here == on_gpu else f"{here} on this CPU ({on_gpu} on CUDA)"


def describe(
    cfg: TrainConfig,
    *,
    model: Any,
    cuda: bool,
    deepspeed: dict[str, Any] | None,
    world: int,
    samples: dict[str, int] | None = None,
) -> str:
    """Settings, batch sizes, ZeRO stage and per-part parameter counts of one run."""
    from tabulate import tabulate

    stage = zero_stage(deepspeed)
    global_batch = cfg.batch_size * cfg.grad_accum * world
    lora = f"r {cfg.lora_r}, alpha {cfg.lora_alpha}, dropout {cfg.lora_dropout}" if cfg.lora else "off (full LLM)"
    settings = [
        ("model", cfg.model),
        ("task / data", f"{cfg.task} / {cfg.data} ({cfg.split})"),
        ("device", "cuda" if cuda else "cpu"),
        ("world size", world),
        ("batch per device x accumulation x world", f"{cfg.batch_size} x {cfg.grad_accum} x {world} = {global_batch}"),
        ("precision", _precision_text(cfg, cuda)),
        ("deepspeed", f"ZeRO-{stage}" if stage is not None else "off"),
        ("LoRA", lora),
        ("fully trained parts", ", ".join(cfg.trainable) or "-"),
        ("optimizer", f"AdamW lr {cfg.learning_rate:g}, {cfg.lr_scheduler}, warmup {cfg.warmup_ratio:g}, "
                      f"weight decay {cfg.weight_decay:g}"),
        ("length", f"epochs {cfg.epochs:g}" + (f", max steps {cfg.max_steps}" if cfg.max_steps > 0 else "")),
        ("max length", cfg.max_length),
        ("gradient checkpointing", cfg.gradient_checkpointing),
        ("save every", f"{cfg.save_steps} steps (keep {cfg.save_total_limit or 'all'})"),
        ("final model", ("LoRA merged" if cfg.merge_lora or not cfg.lora else "adapter + trained parts")
         + f", named {model_name(cfg)}"),
        ("out", cfg.out_dir),
    ]
    if samples:
        settings.append(("samples per epoch", ", ".join(f"{k}: {v}" for k, v in samples.items())))
    counts = count_parameters(model)
    rows = []
    for part, entry in counts.items():
        share = entry["trainable"] / entry["total"] if entry["total"] else 0.0
        rows.append((part, _fmt(entry["trainable"]), _fmt(entry["total"]), f"{share:.2%}"))
    return "\n\n".join([
        tabulate(settings, tablefmt="plain"),
        tabulate(rows, headers=["part", "trainable", "total", "share"], colalign=("left", "right", "right", "right")),
    ])


def _planned(cfg: TrainConfig) -> tuple[Any, bool, dict[str, Any] | None, int]:
    """The run's model on the meta device (LoRA and trainable parts applied), CUDA or not, DeepSpeed, world size."""

    import torch

    from harness.training.parts import apply_lora, set_trainable
    from harness.training.zero import resolve_deepspeed

    cuda = torch.cuda.is_available()
    deepspeed = resolve_deepspeed(cfg.deepspeed, cuda=cuda)
    with torch.device("meta"):
        model = meta_model(cfg.model)
        if cfg.lora:
            model = apply_lora(model, r=cfg.lora_r, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout)
    set_trainable(model, cfg.trainable, lora=cfg.lora)
    world = Distributed.from_env().world_size if Distributed.launched() else max(torch.cuda.device_count(), 1)
    return model, cuda, deepspeed, world


def dry_run(cfg: TrainConfig, *, init: str = "weights") -> str:
    """Resolve everything and count parameters on the meta device; downloads and allocates nothing."""
    model, cuda, deepspeed, world = _planned(cfg)
    text = describe(cfg, model=model, cuda=cuda, deepspeed=deepspeed, world=world)
    return f"dry run: nothing downloaded or trained (init: {init})\n\n{text}"


def dry_run_summary(cfg: TrainConfig, *, init: str = "weights") -> dict[str, Any]:
    """`dry_run` as an object (``finetune --dry-run --json``): configuration, ZeRO stage, parameters per part."""
    model, cuda, deepspeed, world = _planned(cfg)
    return {"dry_run": True, "init": init, "config": cfg.to_dict(), "device": "cuda" if cuda else "cpu",
            "world_size": world, "zero_stage": zero_stage(deepspeed), "precision": resolved_precision(cfg, cuda),
            "parameters": count_parameters(model)}


def meta_model(name: str) -> Any:
    """The architecture of a zoo name or a checkpoint folder (call under ``torch.device("meta")``)."""
    from pathlib import Path

    import harness

    if Path(name).is_dir():
        from harness.modeling.loading import checkpoint_config, read_config
        from harness.modeling.modeling import VLMForCausalLM

        return VLMForCausalLM(checkpoint_config(Path(name), read_config(Path(name))))
    return harness.build_model(name)
