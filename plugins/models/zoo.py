"""Zoo recipes: Med3DVLM as published, its FLARE starting point, the FLARE 2025 baseline, ablations and a CPU demo.

Each factory takes ``**overrides`` (Recipe fields) and returns a `harness.recipe.Recipe`, the model's card.
LLM configs are inline so that `harness.build_model` needs no download.
"""

from __future__ import annotations

from typing import Any

from harness.recipe import Recipe

MED3DVLM_PAPER = "Med3DVLM: An Efficient Vision-Language Model for 3D Medical Image Analysis (arXiv 2503.20047)"
MED3DVLM_LICENCE = "Apache-2.0 (code); Qwen2.5 licence for the LLM weights"
MED3DVLM_WINDOWS: dict[str, tuple[float, float]] = {"abdomen": (-160.0, 240.0), "chest": (-1350.0, 150.0)}
"""Med3DVLM's CT intensity windows (HU), by the domain a task's case names."""
MED3DVLM_PROMPT_STYLE = "med3dvlm"
"""The prompt style the published weights were trained with (the FLARE tasks render it)."""
DEMO_WEIGHTS = "package:harness_plugins/models/weights/med3dvlm-demo"
"""The demo's trained parts, shipped inside this package (`harness.recipe.resolve_path`): a saved config that
names them stays valid on any machine."""

QWEN25_7B: dict[str, Any] = {
    "model_type": "qwen2",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "sliding_window": None,
    "use_sliding_window": False,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
    "vocab_size": 152064,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
}
"""Qwen/Qwen2.5-7B-Instruct's config.json (its embedding has 152064 rows; the tokenizer 151665 tokens)."""

QWEN25_3B: dict[str, Any] = {
    **QWEN25_7B,
    "hidden_size": 2048,
    "intermediate_size": 11008,
    "num_hidden_layers": 36,
    "max_window_layers": 36,
    "num_attention_heads": 16,
    "num_key_value_heads": 2,
    "tie_word_embeddings": True,
    "vocab_size": 151936,
}

PHI3_MINI: dict[str, Any] = {
    "model_type": "phi3",
    "hidden_size": 3072,
    "intermediate_size": 8192,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "max_position_embeddings": 4096,
    "original_max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "sliding_window": 2047,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
    "vocab_size": 32064,
    "bos_token_id": 1,
    "eos_token_id": 32000,
    "pad_token_id": 32000,
}

QWEN_VOCAB_WITH_IMAGE_TOKEN = 151666
"""Qwen2.5's 151665 tokenizer entries plus ``<im_patch>``: the reference resizes the embeddings to this."""


def _with(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    return recipe.replace(**overrides) if overrides else recipe


def _med3dvlm_base(name: str, description: str) -> Recipe:
    return Recipe(
        name=name,
        encoder="dcformer",
        projector="mixer",
        llm="hf",
        encoder_options={"select_layer": -2, "select_feature": "cls_patch"},
        projector_options={"low_output_size": [192, 128], "high_output_size": [64, 128], "mlp_depth": 2},
        llm_options={"model_id": "Qwen/Qwen2.5-7B-Instruct", "config": dict(QWEN25_7B)},
        input_size=(128, 256, 256),
        splice="published",
        hu_windows=dict(MED3DVLM_WINDOWS),
        prompt_style=MED3DVLM_PROMPT_STYLE,
        description=description,
        licence=MED3DVLM_LICENCE,
        paper=MED3DVLM_PAPER,
        training={
            "lora": {"r": 16, "alpha": 32, "dropout": 0.05},
            "trainable": ["model.vision_tower", "model.mm_projector", "model.embed_tokens", "lm_head"],
            "learning_rate": 5e-5, "lr_scheduler": "cosine", "warmup_ratio": 0.03, "weight_decay": 0.0,
            "epochs": 100, "batch_size": 8, "max_length": 1024, "deepspeed": "zero2", "bf16": True,
        },
        vocab_size=QWEN_VOCAB_WITH_IMAGE_TOKEN,
    )


def med3dvlm(**overrides: Any) -> Recipe:
    """The published FLARE 2025 model (GREEN 0.4184, VQA 0.2358 / 0.4180 on FLARE validation)."""
    recipe = _med3dvlm_base(
        "med3dvlm", "Med3DVLM fine-tuned on FLARE 2025 Task 5: DCFormer-small + mixer + Qwen2.5-7B-Instruct"
    ).replace(weights="MagicXin/Med3DVLM-Qwen-2.5-7B-FLARE2025", weights_layout="published")
    return _with(recipe, overrides)


def med3dvlm_init(**overrides: Any) -> Recipe:
    """FLARE fine-tuning's starting point: Qwen2.5-7B-Instruct plus Med3DVLM's released vision tower and projector."""
    recipe = _med3dvlm_base(
        "med3dvlm-init", "Qwen2.5-7B-Instruct + Med3DVLM's pretrained DCFormer and mixer, before FLARE fine-tuning"
    )
    recipe = recipe.replace(parts_weights="MagicXin/Med3DVLM-Qwen-2.5-7B")
    return _with(recipe, overrides)


def med3dvlm_vit3d(**overrides: Any) -> Recipe:
    """Ablation: Med3DVLM's 3D ViT instead of DCFormer (last layer's tokens, MLP projector)."""
    recipe = _med3dvlm_base("med3dvlm-vit3d", "ablation of med3dvlm-init: vit3d encoder + mlp projector").replace(
        encoder="vit3d", encoder_options={"patch_size": 16, "dim": 768, "depth": 12, "select_layer": -1},
        projector="mlp", projector_options={"depth": 2}, splice="placeholder",
    )
    return _with(recipe, overrides)


def med3dvlm_mlp(**overrides: Any) -> Recipe:
    """Ablation: low/high MLP projector instead of the mixer."""
    recipe = _med3dvlm_base("med3dvlm-mlp", "ablation of med3dvlm-init: low_high_mlp projector").replace(
        projector="low_high_mlp", projector_options={"depth": 2}, splice="placeholder",
    )
    return _with(recipe, overrides)


def med3dvlm_mhsa(**overrides: Any) -> Recipe:
    """Ablation: self-attention projector instead of the mixer."""
    recipe = _med3dvlm_base("med3dvlm-mhsa", "ablation of med3dvlm-init: mhsa projector").replace(
        encoder_options={"select_layer": -1, "select_feature": "cls_patch"},
        projector="mhsa", projector_options={}, splice="placeholder",
    )
    return _with(recipe, overrides)


def med3dvlm_qwen25_3b(**overrides: Any) -> Recipe:
    """Ablation: Qwen2.5-3B-Instruct instead of the 7B LLM."""
    recipe = _med3dvlm_base("med3dvlm-qwen2.5-3b", "ablation of med3dvlm-init: Qwen2.5-3B-Instruct").replace(
        llm_options={"model_id": "Qwen/Qwen2.5-3B-Instruct", "config": dict(QWEN25_3B)}, splice="placeholder",
    )
    return _with(recipe, overrides)


def flare25_baseline(**overrides: Any) -> Recipe:
    """The FLARE 2025 Task 5 challenge baseline (medfm-flare/FLARE25-MLLM3D, built on M3D/LaMed)."""
    recipe = Recipe(
        name="flare25-baseline",
        encoder="m3d-vit",
        projector="spp",
        llm="hf",
        encoder_options={"patch_size": [4, 16, 16], "select_layer": -1, "select_feature": "patch"},
        projector_options={"grid": "auto"},
        llm_options={"model_id": "microsoft/Phi-3-mini-4k-instruct", "config": dict(PHI3_MINI)},
        input_size=(32, 256, 256),
        splice="published",
        hu_windows=dict(MED3DVLM_WINDOWS),
        prompt_style=MED3DVLM_PROMPT_STYLE,
        description="FLARE 2025 Phi-3 baseline: M3D 3D ViT + spatial-pooling projector + Phi-3-mini-4k-instruct",
        licence="MIT (Phi-3); Apache-2.0 (M3D)",
        paper="M3D: Advancing 3D Medical Image Analysis with Multi-Modal Large Language Models (arXiv 2404.00578)",
        vocab_size=32064,
        image_token_id=32011,
    )
    return _with(recipe, overrides)


def med3dvlm_demo(**overrides: Any) -> Recipe:
    """CPU-sized demo: DCFormer-nano + mixer (32 visual tokens) + SmolLM2-135M-Instruct at 32x64x64."""
    recipe = Recipe(
        name="med3dvlm-demo",
        encoder="dcformer-nano",
        projector="mixer",
        llm="smollm2",
        encoder_options={"select_layer": -2, "select_feature": "cls_patch"},
        projector_options={"low_output_size": [24, 16], "high_output_size": [16, 16], "mlp_depth": 2},
        llm_options={},
        input_size=(32, 64, 64),
        splice="placeholder",
        hu_windows=dict(MED3DVLM_WINDOWS),
        prompt_style=MED3DVLM_PROMPT_STYLE,
        description="CPU demo: DCFormer-nano + mixer (32 image tokens) + SmolLM2-135M-Instruct, 32x64x64 input",
        licence="Apache-2.0 (SmolLM2 and this harness)",
        paper=MED3DVLM_PAPER,
        training={
            "lora": {"r": 16, "alpha": 32, "dropout": 0.05},
            "trainable": ["model.vision_tower", "model.mm_projector"],
            "learning_rate": 1e-4, "lr_scheduler": "cosine", "warmup_ratio": 0.03, "weight_decay": 0.0,
        },
        vocab_size=49153,
        image_token_id=49152,
        local_weights=DEMO_WEIGHTS,
    )
    return _with(recipe, overrides)


def med3dvlm_demo_untrained(**overrides: Any) -> Recipe:
    """The demo architecture before training: base SmolLM2, vision tower and projector freshly initialised
    with a fixed seed. The baseline the trained demo model is compared with."""
    demo = med3dvlm_demo()
    recipe = demo.replace(
        name="med3dvlm-demo-untrained",
        description="med3dvlm-demo before training: base SmolLM2-135M-Instruct, seeded random vision and projector",
        local_weights=None,
        init_seed=0,
    )
    return _with(recipe, overrides)


TINY_QWEN2: dict[str, Any] = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "max_window_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "bos_token_id": 1, "eos_token_id": 2,
}


def tiny_bench_overrides() -> dict[str, Any]:
    """`harness bench --scale tiny` of ``med3dvlm`` (``bench`` metadata): DCFormer-nano at 64x64x64 and a
    2-layer Qwen2, so that a CPU runs every measurement in seconds."""
    return {
        "encoder": "dcformer-nano",
        "input_size": (64, 64, 64),
        "llm_options": {"config": {**QWEN25_7B, **TINY_QWEN2}},
        "vocab_size": TINY_QWEN2["vocab_size"],
    }
