"""The sizes a benchmark runs at: ``full`` (the published architectures, for a GPU) and ``tiny`` (the same
recipes shrunk so that a CPU finishes in seconds; its figures only prove the code path).

Fixed numbers of new tokens make runs comparable (random weights would stop at arbitrary points):
``report_new_tokens`` is about a FLARE findings text, ``vqa_new_tokens`` a numbered answer list. A FLARE
case is one report plus ``vqa_per_case`` questions (global questions and local chains of the validation
set's typical case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GREEN_RADLLAMA2_7B: dict[str, Any] = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "vocab_size": 32000,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
    "bos_token_id": 1,
    "eos_token_id": 2,
}
"""StanfordAIMI/GREEN-RadLlama2-7b's architecture (Llama-2-7B shapes)."""

TINY_QWEN2: dict[str, Any] = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "max_window_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "bos_token_id": 1, "eos_token_id": 2,
}
TINY_LLAMA: dict[str, Any] = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 4, "vocab_size": 512,
}


@dataclass(frozen=True)
class Shapes:
    scale: str
    model: str = "med3dvlm"
    """The zoo recipe measured for vision, generation and training."""
    model_overrides: dict[str, Any] = field(default_factory=dict)
    """`harness.build_model` overrides (dict fields merge one level deep, ``llm_options.config`` whole)."""
    judge_config: dict[str, Any] = field(default_factory=lambda: dict(GREEN_RADLLAMA2_7B))
    vision_batches: tuple[int, ...] = (1, 4)
    generation_batches: tuple[int, ...] = (1, 8, 32)
    search_largest: bool = True
    """Also measure the largest batch that fits (doubling past the last listed batch until out of memory)."""
    largest_cap: int = 512
    report_new_tokens: int = 256
    vqa_new_tokens: int = 64
    vqa_per_case: int = 12
    judge_batches: tuple[int, ...] = (8, 16, 64)
    judge_new_tokens: int = 300
    judge_samples: int = 64
    """Judged samples per batch size (at least the batch itself)."""
    judge_calls_per_case: int = 15
    """GREEN calls per FLARE case (one per organ with findings; FLARE needs 10-20)."""
    train_batch: int = 8
    train_steps: int = 3
    train_warmup_steps: int = 1
    train_max_length: int = 1024

    def recipe_overrides(self) -> dict[str, Any]:
        return dict(self.model_overrides)


def full() -> Shapes:
    return Shapes("full")


def tiny() -> Shapes:
    """med3dvlm with DCFormer-nano at 64x64x64 and a 2-layer Qwen2; a 2-layer Llama judge; few steps."""
    from harness.modeling.loading import resolve_recipe

    base = resolve_recipe("med3dvlm")
    llm_config = {**base.llm_options["config"], **TINY_QWEN2}
    return Shapes(
        "tiny",
        model_overrides={
            "encoder": "dcformer-nano",
            "input_size": (64, 64, 64),
            "llm_options": {"config": llm_config},
            "vocab_size": TINY_QWEN2["vocab_size"],
        },
        judge_config={**GREEN_RADLLAMA2_7B, **TINY_LLAMA},
        vision_batches=(1, 2),
        generation_batches=(1, 2),
        search_largest=False,
        report_new_tokens=8,
        vqa_new_tokens=4,
        vqa_per_case=3,
        judge_batches=(2, 4),
        judge_new_tokens=3,
        judge_samples=4,
        train_batch=2,
        train_steps=1,
        train_warmup_steps=1,
        train_max_length=512,
    )


def for_scale(scale: str) -> Shapes:
    return {"full": full, "tiny": tiny}[scale]()
