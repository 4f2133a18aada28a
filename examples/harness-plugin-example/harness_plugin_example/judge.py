"""A rule-based GREEN judge following the harness judge contract: ``id`` and ``complete(prompts)``.

It reads the reference and candidate reports out of each GREEN prompt, splits them into sentences
and answers in the GREEN completion format: sentences in both reports are matched findings,
candidate-only sentences are false reports (a), reference-only ones are missed findings (b).
Deterministic and instant, which makes it a useful offline stand-in for a GREEN model.

It builds on the harness's public GREEN helpers (`split_prompt`, `format_completion`), so it needs
no copy of GREEN's prompt or output format.
"""

from __future__ import annotations

import re

from harness.scoring.green import format_completion, split_prompt


def sentences(text: str) -> list[str]:
    """Normalised sentences (lower case, single spaces), in order, without repeats."""
    parts = (" ".join(p.lower().split()) for p in re.split(r"[.;\n]+", text))
    return list(dict.fromkeys(p for p in parts if p))


def green_completion(reference: str, candidate: str) -> str:
    ref, cand = sentences(reference), sentences(candidate)
    matched = [s for s in cand if s in ref]
    false_reports = [s for s in cand if s not in ref]
    missing = [s for s in ref if s not in cand]
    return format_completion(
        matched,
        [false_reports, missing, [], [], [], []],
        explanation="Sentences shared by both reports are matched findings; the others are errors.",
    )


class SentenceOverlapJudge:
    id = "harness-plugin-example/sentence-overlap@1"

    def complete(self, prompts: list[str]) -> list[str]:
        """One completion per prompt; a prompt that is not a GREEN prompt gets 0 matched findings."""
        completions = []
        for prompt in prompts:
            try:
                reference, candidate = split_prompt(prompt)
            except ValueError:
                reference, candidate = "", ""
            completions.append(green_completion(reference, candidate))
        return completions
