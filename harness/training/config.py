"""The resolved fine-tuning configuration: published defaults <- recipe.training <- command line.

    >>> from harness.recipe import Recipe
    >>> recipe = Recipe(name="m", encoder="e", projector="p", llm="l", training={"lora_r": 8})
    >>> cfg = resolve_config(recipe, {"learning_rate": 1e-4}, model="m", task="all", data="demo", out_dir="o")
    >>> (cfg.lora_r, cfg.lora_alpha, cfg.learning_rate)
    (8, 32, 0.0001)

The defaults are the published recipe of the zoo's reference model, so a zoo recipe sets only what differs
from it (LoRA r 16, alpha 32, dropout 0.05 on the LLM's Linear layers; vision tower, projector, embeddings
and lm_head fully trained; ZeRO-2, bf16, AdamW lr 5e-5, cosine, warmup 3 %, no weight decay, 100 epochs,
batch 8, max length 1024).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.options import parse_bool
from harness.recipe import Recipe

PARTS = ("vision_tower", "mm_projector", "embed_tokens", "lm_head")
"""Model parts that can be fully trained; everything else in the LLM is frozen (and LoRA-adapted)."""

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""A fine-tuned model's name: it becomes a folder name on the leaderboard."""


@dataclass
class TrainConfig:
    """Every setting of one fine-tuning run. Keys of ``recipe.training`` and ``--set`` are field names."""

    model: str
    task: str
    data: str
    out_dir: str
    split: str = "train"
    # LoRA on every Linear of the LLM (never the vision tower or projector)
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    merge_lora: bool = True
    """At the end: merge LoRA into the weights (True) or save it as a peft adapter beside the other parts."""
    save_dtype: str = "auto"
    """dtype of the final weights: ``auto`` (as trained), ``float32``, ``bfloat16`` or ``float16``."""
    trainable: list[str] = field(default_factory=lambda: list(PARTS))
    """Parts trained in full; a subset of `PARTS`. Without LoRA the whole LLM is trained as well."""
    # optimisation
    learning_rate: float = 5e-5
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    epochs: float = 100.0
    max_steps: int = -1
    batch_size: int = 8
    """Per device."""
    grad_accum: int = 1
    max_length: int = 1024
    precision: str = "auto"
    """``auto``: the recipe's ``bf16`` on CUDA, float32 on CPU."""
    recipe_precision: str = "bf16"
    gradient_checkpointing: bool = True
    deepspeed: str | None = "auto"
    """``auto`` (ZeRO-2 on CUDA, none on CPU), ``none``, ``zero2``, ``zero3`` or a JSON file."""
    # data
    augment: bool = True
    sample_draw: str = "task"
    """Which request of a scope a sample is: ``task`` (as each task's `Task.training_draw` says) or ``random``."""
    num_workers: int = 0
    # bookkeeping
    seed: int = 42
    save_steps: int = 500
    save_total_limit: int | None = 3
    logging_steps: int = 10
    report_to: list[str] = field(default_factory=lambda: ["csv"])
    """``csv`` (always available), ``tensorboard``, ``wandb`` (needs an account)."""
    resume: bool = False
    llm_options: dict[str, Any] = field(default_factory=dict)
    """Overrides of the recipe's LLM options, e.g. ``--set llm_options.model_id=/path/to/llm`` offline."""
    name: str | None = None
    """The exported model's name (its results are filed under it); ``None``: the output folder's name."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def portable_reference(source: str) -> str:
    """How an exported checkpoint names what it came from (its base model, its data) without a folder of the
    machine that wrote it: a zoo name, a hub id or a relative path as given; an absolute path by its last
    part only (``/home/me/ckpts/run1`` -> ``run1``)."""
    path = Path(source).expanduser()
    return path.name if path.is_absolute() else source


RUN_FIELDS = ("model", "task", "data", "out_dir", "resume")
"""Fields given by the command's own options, never by a recipe."""


def settable_keys() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name not in RUN_FIELDS]


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Bring a recipe or --set value to the type of the field's default (ints stay ints, '1e-4' becomes 1e-4)."""
    if value is None or default is None:
        return value
    if isinstance(default, bool):
        return parse_bool(value, name=name)
    if isinstance(default, (int, float)) and not isinstance(value, bool):
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            raise HarnessError(f"training setting '{name}' must be a number, got {value!r}") from None
    if isinstance(default, list) and isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def normalise_recipe_training(training: dict[str, Any]) -> dict[str, Any]:
    """Accept the zoo's spellings too: ``lora: {r, alpha, dropout}`` (or ``false``), ``bf16: true``,
    ``fp16: true`` and module paths such as ``model.vision_tower`` in ``trainable``."""
    out = dict(training)
    lora = out.pop("lora", None)
    if isinstance(lora, dict):
        out["lora"] = True
        for short, long in (("r", "lora_r"), ("alpha", "lora_alpha"), ("dropout", "lora_dropout")):
            if short in lora:
                out[long] = lora[short]
    elif lora is not None:
        out["lora"] = lora
    for flag in ("bf16", "fp16"):
        if out.pop(flag, False):
            out["precision"] = flag
    if "trainable" in out:
        out["trainable"] = [str(p).removeprefix("model.") for p in out["trainable"]]
    return out


def resolve_config(
    recipe: Recipe, overrides: dict[str, Any], *, model: str, task: str, data: str, out_dir: str, resume: bool = False
) -> TrainConfig:
    """Published defaults, then ``recipe.training``, then ``overrides`` (CLI options and ``--set``)."""
    defaults = TrainConfig(model=model, task=task, data=data, out_dir=out_dir, resume=resume)
    known = set(settable_keys())
    values: dict[str, Any] = {}
    sources = (("recipe.training", normalise_recipe_training(recipe.training)), ("override", overrides))
    for source, settings in sources:
        for key, value in settings.items():
            if key == "precision" and source == "recipe.training":
                key = "recipe_precision"
            if key not in known:
                raise HarnessError(
                    f"unknown training setting '{key}' ({source}); settings are: {', '.join(sorted(known))}"
                )
            if value is None and source == "override":
                continue
            values[key] = _coerce(key, value, getattr(defaults, key))
    cfg = dataclasses.replace(defaults, **values)
    _validate(cfg)
    return cfg


def _validate(cfg: TrainConfig) -> None:
    unknown = sorted(set(cfg.trainable) - set(PARTS))
    if unknown:
        raise HarnessError(f"unknown trainable part(s) {unknown}; parts are: {', '.join(PARTS)}")
    for name in ("precision", "recipe_precision"):
        if getattr(cfg, name) not in PRECISIONS:
            raise HarnessError(f"{name} '{getattr(cfg, name)}' is not one of {', '.join(PRECISIONS)}")
    if cfg.save_dtype not in {"auto", "float32", "bfloat16", "float16"}:
        raise HarnessError(f"save_dtype '{cfg.save_dtype}' must be auto, float32, bfloat16 or float16")
    if cfg.sample_draw not in {"task", "random"}:
        raise HarnessError(f"sample_draw '{cfg.sample_draw}' must be 'task' or 'random'")
    if cfg.batch_size < 1 or cfg.grad_accum < 1:
        raise HarnessError("--batch-size and --grad-accum must be at least 1")
    if not 0 <= cfg.seed < 2**32:
        raise HarnessError(f"seed {cfg.seed}: give a seed from 0 to {2**32 - 1} (the range numpy's seed accepts)")
    if cfg.max_length < 8:
        raise HarnessError(f"max_length {cfg.max_length} is too short for a prompt and a target")
    if cfg.epochs <= 0 and cfg.max_steps <= 0:
        raise HarnessError("give --epochs > 0 or --max-steps > 0")
    if cfg.name is not None and not MODEL_NAME.match(cfg.name):
        raise HarnessError(f"--name '{cfg.name}' must start with a letter or digit and hold only letters, digits, "
                           f"'.', '_' and '-'")


def resolved_precision(cfg: TrainConfig, cuda: bool) -> str:
    """``bf16``/``fp16``/``fp32`` for this machine: ``auto`` keeps the recipe's on CUDA and float32 on CPU."""
    if cfg.precision != "auto":
        return cfg.precision
    return cfg.recipe_precision if cuda and cfg.recipe_precision != "auto" else "fp32"
