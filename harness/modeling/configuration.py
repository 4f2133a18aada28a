"""`VLMConfig`: the recipe (parts, options, splice) plus the language model's own config.

The harness's own checkpoint layout is ``model_type: "med3d_vlm"`` (the name saved checkpoints carry).

The recipe is stored as a plain dict so that `save_pretrained` writes it into config.json and
`from_pretrained` rebuilds exactly the same encoder, projector and LLM by registry name.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PretrainedConfig

from harness.recipe import Recipe

MODEL_TYPE = "med3d_vlm"


class VLMConfig(PretrainedConfig):
    """Config of an assembled 3D vision-language model.

    Args:
        recipe: `Recipe.to_dict()` of the zoo recipe (encoder, projector, LLM names and options).
        text_config: the causal LM's config (a `PretrainedConfig` or its dict with ``model_type``).
        image_token_id: id of the recipe's image placeholder token (used by the ``placeholder`` splice).
        components: for each part (``encoder``, ``projector``, ``llm``), the registry name and the plugin
            distribution and version that provided it when the model was assembled (provenance only: loading
            rebuilds the parts by name from whatever is installed).
    """

    model_type = MODEL_TYPE
    sub_configs = {"text_config": AutoConfig}

    def __init__(
        self,
        recipe: dict[str, Any] | None = None,
        text_config: PretrainedConfig | dict[str, Any] | None = None,
        image_token_id: int | None = None,
        components: dict[str, dict[str, str | None]] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(text_config, dict):
            text_config = dict(text_config)
            model_type = text_config.pop("model_type", "qwen2")
            text_config = AutoConfig.for_model(model_type, **text_config)
        self.recipe = dict(recipe or {})
        self.text_config = text_config
        self.image_token_id = image_token_id
        self.components = dict(components or {})
        if text_config is not None:
            # Read by transformers' tying mechanism on the top-level model (SmolLM2 ties, Qwen2.5-7B does not).
            kwargs.setdefault("tie_word_embeddings", bool(getattr(text_config, "tie_word_embeddings", False)))
            kwargs.setdefault("vocab_size", text_config.vocab_size)
            kwargs.setdefault("hidden_size", text_config.hidden_size)
        super().__init__(**kwargs)

    def get_recipe(self) -> Recipe:
        return Recipe.from_dict(self.recipe)

    def get_text_config(self, *args: Any, **kwargs: Any) -> PretrainedConfig:
        """Generation and cache utilities read the decoder's sizes from here."""
        return self.text_config if self.text_config is not None else super().get_text_config(*args, **kwargs)


AutoConfig.register(MODEL_TYPE, VLMConfig, exist_ok=True)
