"""The model card of a fine-tuned model (``OUT/README.md``), written with `huggingface_hub.ModelCard`.

The YAML header holds what the Hub reads (licence, base model, library, tags); the text says what the
model is: its recipe, the model it was fine-tuned from, the data and split, and the training figures
(steps, final loss, time, samples per second) from ``training.json``'s metrics.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.training.config import TrainConfig, portable_reference

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_LICENCE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")


def hub_base_model(recipe: dict[str, Any]) -> str | None:
    """A Hub id for the card's ``base_model``: the base recipe's full weights, else its LLM's model id."""
    for candidate in (recipe.get("weights"), (recipe.get("llm_options") or {}).get("model_id")):
        if isinstance(candidate, str) and _HUB_ID.match(candidate) and not Path(candidate).exists():
            return candidate
    return None


def _licence_id(text: str | None) -> str | None:
    if not text:
        return None
    return text.lower() if _LICENCE_ID.match(text.lower()) else "other"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64]


def _figure(metrics: dict[str, Any], key: str, fmt: str) -> str:
    value = metrics.get(key)
    return format(value, fmt) if isinstance(value, (int, float)) else "-"


def card_text(cfg: TrainConfig, *, recipe: dict[str, Any], base_recipe: dict[str, Any],
              metrics: dict[str, Any]) -> str:
    """The card as Markdown with its YAML header."""
    from huggingface_hub import ModelCard, ModelCardData

    licence = base_recipe.get("licence")
    licence_id = _licence_id(licence)
    data = ModelCardData(
        license=licence_id,
        license_name=_slug(licence) if licence_id == "other" else None,  # the Hub asks for it with "other"
        base_model=hub_base_model(base_recipe),
        library_name="transformers",
        tags=["med3d-harness", "medical", "3d", "vision-language", "fine-tuned"],
        model_name=recipe["name"],
    )
    rows = [
        ("recipe", f"encoder `{recipe['encoder']}`, projector `{recipe['projector']}`, LLM `{recipe['llm']}`, "
                   f"input {'x'.join(str(s) for s in recipe['input_size'])}"),
        ("fine-tuned from", f"`{portable_reference(cfg.model)}`"),
        ("data", f"`{portable_reference(cfg.data)}`, split `{cfg.split}`, task `{cfg.task}`"),
        ("LoRA", f"r {cfg.lora_r}, alpha {cfg.lora_alpha}, dropout {cfg.lora_dropout}" if cfg.lora else "off"),
        ("final weights", "LoRA merged" if cfg.merge_lora or not cfg.lora else "adapter (`adapter/`) + trained parts"),
        ("steps", _figure(metrics, "global_step", "d")),
        ("final training loss", _figure(metrics, "train_loss", ".4f")),
        ("training time (s)", _figure(metrics, "train_runtime", ".1f")),
        ("samples per second", _figure(metrics, "train_samples_per_second", ".3f")),
        ("licence", licence or "not stated by the base recipe"),
    ]
    table = "\n".join(["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows)])
    body = (
        f"# {recipe['name']}\n\n"
        f"A 3D medical vision-language model fine-tuned with `harness finetune` (med3d-harness).\n\n"
        f"{table}\n\n"
        f"Evaluate it with `harness run --model PATH_OR_HUB_ID --task TASK --data DATA`. The resolved training "
        f"configuration and all metrics are in `training.json`; the per-step log is `train_log.csv`.\n"
    )
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def write_card(path: Path, cfg: TrainConfig, *, recipe: dict[str, Any], base_recipe: dict[str, Any],
               metrics: dict[str, Any]) -> None:
    from harness.atomic import write_text_atomic

    write_text_atomic(path, card_text(cfg, recipe=recipe, base_recipe=base_recipe, metrics=metrics))
