"""Built-in judges. This module is the entry point: it registers lazy factories and imports nothing heavy."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_judges(register):
    register(
        "hf",
        "harness_plugins.judges.hf:HFJudge",
        description="GREEN judge on any causal LM by hub id or path; default StanfordAIMI/GREEN-radllama2-7b "
        "(the official FLARE judge)",
        calibrated=True,
        default_model="StanfordAIMI/GREEN-radllama2-7b",
    )
    register(
        "lexical",
        "harness_plugins.judges.lexical:LexicalJudge",
        description="deterministic offline sentence matcher writing GREEN-format completions; NOT GREEN-calibrated",
        calibrated=False,
    )
