"""LLM backend ``hf``: any transformers causal LM by hub id or local path (Qwen2/2.5, Llama 3.x, Phi-3, Mistral, Gemma).

Options: ``model_id`` (hub id or local folder), ``revision``, ``config`` (the model's config.json as an
inline dict, so that building the architecture needs no download), ``attn_implementation`` ("sdpa" by
default; "flash_attention_2" when installed) and ``dtype``. Weights are read from safetensors only.

Remote code follows `harness.trust` (the ``--trust-remote-code`` flag) alone; ``trust_remote_code=True``
in the options (from a recipe or a checkpoint's config) is refused unless the flag is given, and a local
``model_id`` folder whose files ask for code is refused before transformers sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PretrainedConfig, PreTrainedModel

from harness import trust
from harness.modeling.hub import hub_errors


class HFBackend:
    """A transformers causal LM; see the module docstring for the options."""

    def __init__(
        self,
        model_id: str,
        revision: str | None = None,
        config: dict[str, Any] | None = None,
        attn_implementation: str = "sdpa",
        dtype: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_id = str(model_id)
        self.revision = revision
        self.inline_config = dict(config) if config else None
        self.attn_implementation = attn_implementation
        self.dtype = dtype
        if trust_remote_code:
            trust.refuse(f"the LLM options for '{self.model_id}'", "llm_options.trust_remote_code is true")
        if Path(self.model_id).is_dir():
            trust.check_folder(Path(self.model_id))

    @property
    def id(self) -> str:
        return f"{self.model_id}@{self.revision}" if self.revision else self.model_id

    @property
    def hint(self) -> str:
        name = Path(self.model_id).name
        return f"download it elsewhere and pass a local path with --set llm_options.model_id=/path/to/{name}"

    def _remote(self) -> dict[str, Any]:
        return {"revision": self.revision, **trust.remote_code_kwargs()}

    def config(self) -> PretrainedConfig:
        if self.inline_config is not None:
            values = dict(self.inline_config)
            return AutoConfig.for_model(values.pop("model_type"), **values)
        with hub_errors(self.model_id, self.revision, self.hint):
            return AutoConfig.from_pretrained(self.model_id, **self._remote())

    def build(self, config: PretrainedConfig | None = None) -> PreTrainedModel:
        return AutoModelForCausalLM.from_config(
            config or self.config(), attn_implementation=self.attn_implementation, **trust.remote_code_kwargs()
        )

    def load(self, dtype: Any = None, device: Any = None) -> PreTrainedModel:
        with hub_errors(self.model_id, self.revision, self.hint):
            model = AutoModelForCausalLM.from_pretrained(
                self.model_id,
                dtype=dtype or self.dtype or "auto",
                attn_implementation=self.attn_implementation,
                use_safetensors=True,
                **self._remote(),
            )
        return model.to(device) if device is not None else model

    def tokenizer(self):  # -> PreTrainedTokenizerBase
        with hub_errors(self.model_id, self.revision, self.hint):
            return AutoTokenizer.from_pretrained(self.model_id, **self._remote())
