"""Built-in judges. This module is the entry point: it registers lazy factories and imports nothing heavy."""

from __future__ import annotations

from harness import hookimpl

GREEN_RADLLAMA2_7B = {
    "model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0, "vocab_size": 32000, "tie_word_embeddings": False, "hidden_act": "silu",
    "bos_token_id": 1, "eos_token_id": 2,
}
"""StanfordAIMI/GREEN-RadLlama2-7b's architecture (Llama-2-7B shapes), which `harness bench` times the judge on."""


@hookimpl
def register_judges(register):
    register(
        "hf",
        "harness_plugins.judges.hf:HFJudge",
        description="GREEN judge on any causal LM by hub id or path; default StanfordAIMI/GREEN-radllama2-7b "
        "(the official FLARE judge)",
        calibrated=True,
        default_model="StanfordAIMI/GREEN-radllama2-7b",
        bench={"label": "llama (GREEN-RadLlama2-7B shapes)", "architecture": GREEN_RADLLAMA2_7B,
               "reference": {"seconds_per_sample": 2.3, "source": "green-score, A100, batch 16"}},
    )
    register(
        "lexical",
        "harness_plugins.judges.lexical:LexicalJudge",
        description="deterministic offline sentence matcher writing GREEN-format completions; NOT GREEN-calibrated",
        calibrated=False,
    )
