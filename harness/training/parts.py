"""Which parameters train: LoRA on the LLM's Linear layers, chosen parts in full, the rest frozen.

The assembled model keeps the LLM's decoder at ``model.*`` with the encoder at ``model.vision_tower`` and
the projector at ``model.mm_projector`` (see `harness.modeling`). LoRA goes on every ``nn.Linear`` of
the decoder, never on the vision tower, projector or lm_head; the parts named in ``trainable`` are then
unfrozen in full with ``requires_grad`` (as the reference does), which keeps one copy of each weight
(peft's ``modules_to_save`` would duplicate the 7B model's embeddings and break tied embeddings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from harness.errors import HarnessError

if TYPE_CHECKING:
    from torch import nn

NON_LLM = ("vision_tower", "mm_projector")
PART_ORDER = ("vision_tower", "mm_projector", "embed_tokens", "lm_head", "lora", "llm")


def part_of(name: str) -> str:
    """The part a parameter or module name belongs to (names may carry peft's ``base_model.model.`` prefix)."""
    if "lora_" in name:
        return "lora"
    for part in ("vision_tower", "mm_projector", "embed_tokens", "lm_head"):
        if f"{part}." in name or name.endswith(part):
            return part
    return "llm"


def lora_target_names(model: nn.Module) -> list[str]:
    """Distinct leaf names of the LLM's Linear layers (``q_proj``, ``down_proj`` ...), lm_head excluded."""
    from torch import nn

    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and part_of(name) == "llm"
    }
    if not names:
        raise HarnessError("the model's LLM has no nn.Linear layers to put LoRA on; use --no-lora")
    return sorted(names)


def lora_target_regex(model: nn.Module) -> str:
    """A peft ``target_modules`` regex (full match) for the LLM's Linear layers only."""
    leaves = "|".join(re.escape(n) for n in lora_target_names(model))
    excluded = "|".join(NON_LLM)
    return rf"(?!.*\b(?:{excluded})\.).*\.(?:{leaves})"


def apply_lora(model: nn.Module, *, r: int, alpha: int, dropout: float) -> nn.Module:
    """Wrap ``model`` with peft LoRA adapters; every base weight is frozen afterwards."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=lora_target_regex(model),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def set_trainable(model: nn.Module, parts: Iterable[str], *, lora: bool) -> None:
    """Unfreeze the named parts; without LoRA the whole LLM trains too (full fine-tuning)."""
    wanted = set(parts) | ({"lora"} if lora else {"llm"})
    for name, param in model.named_parameters():
        param.requires_grad_(part_of(name) in wanted)


def count_parameters(model: nn.Module) -> dict[str, dict[str, int]]:
    """``{part: {"trainable": n, "total": n}}`` in `PART_ORDER`, plus ``"all"``; shared (tied) weights once."""
    counts = {part: {"trainable": 0, "total": 0} for part in PART_ORDER}
    for name, param in model.named_parameters():
        entry = counts[part_of(name)]
        entry["total"] += param.numel()
        if param.requires_grad:
            entry["trainable"] += param.numel()
    counts = {part: entry for part, entry in counts.items() if entry["total"]}
    counts["all"] = {
        "trainable": sum(e["trainable"] for e in counts.values()),
        "total": sum(e["total"] for e in counts.values()),
    }
    return counts
