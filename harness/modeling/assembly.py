"""A recipe's model config: the LLM backend's text config, the vocabulary with the image token, and which
installed plugin distribution provides each part. Shared by loading and by the Auto classes of declared
checkpoint layouts, so neither imports the other."""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

from harness import plugins
from harness.modeling.configuration import VLMConfig
from harness.recipe import Recipe


def llm_backend(recipe: Recipe) -> Any:
    return plugins.registry("llms").create(recipe.llm, **recipe.llm_options)


def model_config(recipe: Recipe, text_config: PretrainedConfig | None = None) -> VLMConfig:
    """The model config of a recipe; the vocabulary size (after ``<im_patch>``) comes from ``recipe.vocab_size``."""
    text_config = text_config if text_config is not None else llm_backend(recipe).config()
    vocab_size = recipe.vocab_size
    if vocab_size is not None:
        text_config.vocab_size = int(vocab_size)
    image_token_id = recipe.image_token_id if recipe.image_token_id is not None else text_config.vocab_size - 1
    return VLMConfig(recipe=recipe.to_dict(), text_config=text_config, image_token_id=image_token_id,
                     components=component_origins(recipe))


def component_origins(recipe: Recipe) -> dict[str, dict[str, str | None]]:
    """Which installed plugin distribution (and version) provides each part of a recipe."""
    origins = {}
    for part, kind in (("encoder", "encoders"), ("projector", "projectors"), ("llm", "llms")):
        name = getattr(recipe, part)
        registry = plugins.registry(kind)
        entry = registry.get(name) if name in registry else None
        origins[part] = {"name": name, "distribution": entry.distribution if entry else None,
                         "version": entry.version if entry else None}
    return origins
