"""The published Med3DVLM layout: a config.json with ``model_type: "vlm_qwen"`` (transformers 4.52 style, the
Qwen2 fields and the vision fields side by side), read as a harness recipe.

The zoo registers `published_recipe` as the reader of that model type (``checkpoint_layouts`` in
`harness_plugins.models`), so `harness.load_model(folder)` and, after ``import harness``,
``transformers.AutoModelForCausalLM.from_pretrained(folder)`` load such a checkpoint:

    >>> import harness
    >>> model = harness.load_model("/path/to/Med3DVLM-Qwen-2.5-7B-FLARE2025")  # doctest: +SKIP

The parameter names of the published checkpoints are already the harness's; only the config is mapped.
"""

from __future__ import annotations

from typing import Any

from harness.recipe import Recipe
from harness_plugins.models.zoo import MED3DVLM_PROMPT_STYLE, MED3DVLM_WINDOWS

PUBLISHED_MODEL_TYPE = "vlm_qwen"
DEFAULT_LLM = "Qwen/Qwen2.5-7B-Instruct"

_VISION_FIELDS = {
    "architectures", "input_size", "patch_size", "dim", "depth", "vision_tower", "vision_select_layer",
    "vision_select_feature", "mm_projector_type", "mm_mlp_depth", "proj_out_num", "low_output_size",
    "high_output_size", "low_input_size", "high_input_size", "mm_hidden_size", "transformers_version",
    "torch_dtype", "_name_or_path", "name_or_path", "model_type",
}


def published_recipe(raw: dict[str, Any], name: str = "published") -> Recipe:
    """Map a published config.json to a recipe: its vision fields to the encoder and projector options, the
    rest to an inline Qwen2 config; splice ``published``, Med3DVLM's windows and prompt style."""
    encoder = raw.get("vision_tower", "dcformer")
    encoder_options: dict[str, Any] = {
        "select_layer": raw.get("vision_select_layer", -2),
        "select_feature": raw.get("vision_select_feature", "cls_patch"),
    }
    if encoder == "vit3d":
        patch = raw.get("patch_size", 16)
        patch = patch[0] if isinstance(patch, list) and len(set(patch)) == 1 else patch
        encoder_options.update(patch_size=patch, dim=raw.get("dim", 768), depth=raw.get("depth", 12))
    projector = raw.get("mm_projector_type", "mixer")
    projector_options: dict[str, Any] = {}
    if projector == "mixer":
        projector_options = {
            "low_output_size": list(raw.get("low_output_size", (192, 128))),
            "high_output_size": list(raw.get("high_output_size", (64, 128))),
            "mlp_depth": raw.get("mm_mlp_depth", 2),
        }
    elif projector in ("mlp", "low_high_mlp"):
        projector_options = {"depth": raw.get("mm_mlp_depth", 2)}
    elif projector == "spp":
        projector_options = {"proj_out_num": raw.get("proj_out_num", 256)}
    return Recipe(
        name=name,
        encoder=encoder,
        projector=projector,
        llm="hf",
        encoder_options=encoder_options,
        projector_options=projector_options,
        llm_options={"model_id": str(raw.get("_name_or_path") or DEFAULT_LLM), "config": qwen2_fields(raw)},
        input_size=tuple(raw.get("input_size", (128, 256, 256))),
        hu_windows=dict(MED3DVLM_WINDOWS),
        splice="published",
        prompt_style=MED3DVLM_PROMPT_STYLE,
        weights_layout="published",
    )


def qwen2_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The text model's fields of a published config (everything that is not a vision or bookkeeping field)."""
    text = {k: v for k, v in raw.items() if k not in _VISION_FIELDS and not k.startswith("tune_")}
    text["model_type"] = "qwen2"
    return text
