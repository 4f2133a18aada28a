"""Fine-tuning (`harness finetune`): HF Trainer + DeepSpeed + peft LoRA over any tasks that give targets.

    >>> from harness.training import resolve_run, finetune, dry_run
    >>> cfg = resolve_run("MODEL", task="all", data="DATA", out_dir="/tmp/ft")      # doctest: +SKIP
    >>> print(dry_run(cfg))                                                          # doctest: +SKIP

Modules: `config` (settings: published defaults <- recipe.training <- CLI), `zero` (DeepSpeed configs),
`parts` (LoRA and trainable parts), `samples` / `dataset` / `encoding` (training data), `trainer` (the
run), `fingerprint` (what made an output folder; resume checks it), `checkpoints` (which checkpoint a
resume can trust), `csvlog` (train_log.csv), `batchnorm` (the batch-of-one error), `export` (final
weights, own name), `card` (the Hugging Face model card), `summary` (resolved configuration, dry run).
Heavy libraries load inside the functions, so importing this package is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.training.config import TrainConfig

__all__ = ["dry_run", "dry_run_summary", "finetune", "resolve_run"]


def resolve_run(
    model: str, *, task: str, data: str, out_dir: str, overrides: dict[str, Any] | None = None, resume: bool = False
) -> TrainConfig:
    """The run's configuration: published defaults <- the model's ``recipe.training`` <- ``overrides``."""
    from harness.training.config import resolve_config

    return resolve_config(_recipe_of(model), overrides or {}, model=model, task=task, data=data,
                          out_dir=out_dir, resume=resume)


def _recipe_of(model: str) -> Any:
    """The recipe of a zoo name, or the one stored in a harness checkpoint's config.json."""
    from harness.modeling.loading import refuse_path_that_is_no_checkpoint

    if not (Path(model).is_dir() and model.strip()):
        refuse_path_that_is_no_checkpoint(model)
    if Path(model).is_dir():
        from harness.modeling.loading import checkpoint_recipe

        return checkpoint_recipe(Path(model), checkpoint_config(model))
    from harness.modeling.loading import resolve_recipe

    return resolve_recipe(model)


def checkpoint_config(folder: str | Path) -> dict[str, Any]:
    """The config.json of a checkpoint folder as a dict; a missing or damaged one is a one-line error."""
    from harness.modeling.loading import read_config

    return read_config(Path(folder))


def finetune(cfg: TrainConfig, *, init: str = "weights", log: Callable[[str], None] = print) -> Path:
    """Train and export into ``cfg.out_dir`` (its ``training.json`` is the summary); ``log`` gets the progress lines."""
    from harness.training.trainer import finetune as _finetune

    return _finetune(cfg, init=init, log=log)


def dry_run(cfg: TrainConfig, *, init: str = "weights") -> str:
    from harness.training.summary import dry_run as _dry_run

    return _dry_run(cfg, init=init)


def dry_run_summary(cfg: TrainConfig, *, init: str = "weights") -> dict[str, Any]:
    """What `dry_run` prints, as a JSON-ready object: the resolved configuration and per-part parameter counts."""
    from harness.training.summary import dry_run_summary as _summary

    return _summary(cfg, init=init)
