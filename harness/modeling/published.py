"""The published Med3DVLM layout: a config.json with ``model_type: "vlm_qwen"`` (transformers 4.52 style, the
Qwen2 fields and the vision fields side by side) read as a harness recipe plus a Qwen2 text config.

`PublishedMed3DVLMConfig` lets transformers' Auto classes read such a folder directly (`harness.modeling.auto`
registers it); `harness.load_model` uses `published_config`, which also accepts the zoo recipe that names
the checkpoint.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, AutoModelForCausalLM

from harness.modeling.configuration import Med3DVLMConfig
from harness.modeling.modeling import Med3DVLMForCausalLM
from harness.recipe import Recipe

PUBLISHED_MODEL_TYPE = "vlm_qwen"

_VISION_FIELDS = {
    "architectures", "input_size", "patch_size", "dim", "depth", "vision_tower", "vision_select_layer",
    "vision_select_feature", "mm_projector_type", "mm_mlp_depth", "proj_out_num", "low_output_size",
    "high_output_size", "low_input_size", "high_input_size", "mm_hidden_size", "transformers_version",
    "torch_dtype", "_name_or_path", "name_or_path", "model_type",
}


def published_recipe(raw: dict[str, Any], name: str = "published") -> Recipe:
    """Map a published config.json's vision fields to a recipe (splice ``published``)."""
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
        llm_options={"model_id": str(raw.get("_name_or_path") or "Qwen/Qwen2.5-7B-Instruct"),
                     "config": qwen2_fields(raw)},
        input_size=tuple(raw.get("input_size", (128, 256, 256))),
        splice="published",
        weights_layout="published",
    )


def qwen2_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The text model's fields of a published config (everything that is not a vision or bookkeeping field)."""
    text = {k: v for k, v in raw.items() if k not in _VISION_FIELDS and not k.startswith("tune_")}
    text["model_type"] = "qwen2"
    return text


def published_config(raw: dict[str, Any], *, recipe: Recipe | None = None, name: str = "published") -> Med3DVLMConfig:
    recipe = recipe or published_recipe(raw, name)
    text = qwen2_fields(raw)
    text_config = AutoConfig.for_model(text.pop("model_type"), **text)
    return Med3DVLMConfig(recipe=recipe.to_dict(), text_config=text_config, image_token_id=text_config.vocab_size - 1)


class PublishedMed3DVLMConfig(Med3DVLMConfig):
    """A ``vlm_qwen`` config.json as transformers' `AutoConfig` reads it: the flat published fields become the
    recipe and text config of `Med3DVLMConfig` (a config that already has them, e.g. one saved by this class,
    is taken as is)."""

    model_type = PUBLISHED_MODEL_TYPE

    def __init__(self, **kwargs: Any) -> None:
        if "recipe" in kwargs or not kwargs.get("hidden_size"):
            super().__init__(**kwargs)
            return
        flat = published_config(kwargs)
        super().__init__(recipe=flat.recipe, text_config=flat.text_config, image_token_id=flat.image_token_id,
                         name_or_path=str(kwargs.get("name_or_path", "")))


class PublishedMed3DVLMForCausalLM(Med3DVLMForCausalLM):
    """`Med3DVLMForCausalLM` for a ``vlm_qwen`` config (the parameter names are the same)."""

    config_class = PublishedMed3DVLMConfig


AutoConfig.register(PUBLISHED_MODEL_TYPE, PublishedMed3DVLMConfig, exist_ok=True)
AutoModelForCausalLM.register(PublishedMed3DVLMConfig, PublishedMed3DVLMForCausalLM, exist_ok=True)
