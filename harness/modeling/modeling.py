"""`VLMForCausalLM`: encoder -> projector -> causal LM, assembled from registry names by recipe.

Parameter layout (the LLaVA-style names that published 3D VLM checkpoints use, so they load unchanged)::

    model.embed_tokens / model.layers.* / model.norm      the LLM's decoder (its base model)
    model.vision_tower.vision_tower.<encoder keys>         the encoder
    model.mm_projector.<projector keys>                     the projector
    lm_head.weight                                          the LLM's output layer (tied when its config ties)

The image enters the input embeddings by the recipe's splice (`harness.modeling.splice`); the sequence
length never changes, so labels and attention masks are used as given.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, GenerationMixin, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from harness import plugins
from harness.modeling.configuration import MODEL_TYPE, VLMConfig
from harness.modeling.splice import splice


class VisionTower(nn.Module):
    """Holds the encoder at ``.vision_tower`` (the reference's nesting, kept for parameter names)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.vision_tower = encoder

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.vision_tower(images)


def _mark_initialised(module: nn.Module) -> None:
    """Keep the components' own initialisation (e.g. DCFormer's 1e-6 layer scale) instead of transformers'
    generic one; on the meta device nothing is initialised yet, so leave the flags off."""
    if any(p.is_meta for p in module.parameters()):
        return
    for sub in module.modules():
        sub._is_hf_initialized = True


class VLMForCausalLM(PreTrainedModel, GenerationMixin):
    """Any recipe's encoder -> projector -> causal LM (see the module docstring)."""

    config_class = VLMConfig
    base_model_prefix = "model"
    _tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _can_compile_fullgraph = False

    def __init__(self, config: VLMConfig, language_model: PreTrainedModel | None = None) -> None:
        """``language_model``: a pretrained causal LM to use as is (its decoder and head become ours);
        by default a fresh one is built from ``config.text_config``."""
        super().__init__(config)
        recipe = config.get_recipe()
        lm = language_model if language_model is not None else AutoModelForCausalLM.from_config(config.text_config)
        encoder = plugins.registry("encoders").create(
            recipe.encoder, input_size=tuple(recipe.input_size), **recipe.encoder_options
        )
        projector_options = dict(recipe.projector_options)
        if projector_options.get("grid") == "auto":  # spatial pooling needs the encoder's token grid
            projector_options["grid"] = tuple(encoder.feature_grids()[0])
        projector = plugins.registry("projectors").create(
            recipe.projector,
            in_shapes=[tuple(s) for s in encoder.feature_shapes()],
            out_dim=config.text_config.hidden_size,
            **projector_options,
        )
        _mark_initialised(encoder)
        _mark_initialised(projector)
        self.model = lm.base_model
        if self.model.config._attn_implementation is None:  # the wrapper's init can leave the sub-config unset
            self.model.config._attn_implementation = self.config._attn_implementation
        self.model.vision_tower = VisionTower(encoder)
        self.model.mm_projector = projector
        self.lm_head = lm.get_output_embeddings()
        self._no_split_modules = list(lm._no_split_modules or [])
        self.post_init()

    @property
    def splice_strategy(self) -> str:
        return self.config.recipe.get("splice", "placeholder")

    @property
    def num_image_tokens(self) -> int:
        return int(self.model.mm_projector.num_tokens)

    def get_input_embeddings(self) -> nn.Module:
        return self.model.embed_tokens

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.embed_tokens = value

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.lm_head = value

    def get_decoder(self) -> nn.Module:
        return self.model

    def resize_token_embeddings(self, new_num_tokens: int | None = None, **kwargs: Any) -> nn.Embedding:
        embeddings = super().resize_token_embeddings(new_num_tokens, **kwargs)
        self.config.text_config.vocab_size = embeddings.num_embeddings
        self.config.vocab_size = embeddings.num_embeddings
        return embeddings

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, D, H, W) in [0, 1] -> (B, N, hidden) image tokens."""
        projector = self.model.mm_projector
        dtype = next(projector.parameters()).dtype
        features = self.model.vision_tower(images.to(dtype=dtype))
        return projector(features)

    def embed_inputs(
        self,
        input_ids: torch.Tensor,
        images: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        image_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The LLM's input embeddings with the image tokens spliced in (same length as ``input_ids``).

        ``image_features`` (B, N, hidden), from `encode_images`, replaces ``images``: a caller whose rows share
        a volume (a case's VQA questions) runs the vision tower once per distinct volume."""
        embeds = self.get_input_embeddings()(input_ids)
        if image_features is None:
            if images is None:
                return embeds
            image_features = self.encode_images(images)
        return splice(
            self.splice_strategy,
            embeds,
            image_features,
            input_ids=input_ids,
            attention_mask=attention_mask,
            image_token_id=self.config.image_token_id,
        )

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        images: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ) -> CausalLMOutputWithPast:
        if inputs_embeds is None:
            inputs_embeds = self.embed_inputs(input_ids, images, attention_mask)
        outputs = self.model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            use_cache=use_cache,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        softcap = getattr(self.config.text_config, "final_logit_softcapping", None)
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=logits.shape[-1], **kwargs)
        return CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.LongTensor | None = None,
        images: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        image_features: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> torch.LongTensor:
        """Generate from the spliced input embeddings; returns only the new tokens (B, T_new).

        ``image_features`` may stand in for ``images`` (see `embed_inputs`)."""
        if input_ids is None:
            return super().generate(attention_mask=attention_mask, **kwargs)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs_embeds = self.embed_inputs(input_ids, images, attention_mask, image_features)
        return super().generate(inputs_embeds=inputs_embeds, attention_mask=attention_mask, **kwargs)


AutoConfig.register(MODEL_TYPE, VLMConfig, exist_ok=True)
AutoModelForCausalLM.register(VLMConfig, VLMForCausalLM, exist_ok=True)
