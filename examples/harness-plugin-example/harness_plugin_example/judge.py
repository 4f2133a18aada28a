"""A rule-based GREEN judge following the harness judge contract: ``id`` and ``complete(prompts)``.

It reads the reference and candidate reports out of each GREEN prompt, splits them into sentences
and answers in the GREEN completion format: sentences in both reports are matched findings,
candidate-only sentences are false reports (a), reference-only ones are missed findings (b).
Deterministic and instant, which makes it a useful offline stand-in for a GREEN model.
"""

from __future__ import annotations

import re

GREEN_REPORTS = re.compile(
    r"2\. Reference Report:\s*(?P<reference>.*?)\s*3\. Candidate Report:\s*(?P<candidate>.*?)"
    r"\s*4\. Reporting Your Assessment:",
    re.DOTALL,
)
"""The two reports inside a GREEN prompt (both published layouts of the template: with and without indentation)."""
CATEGORIES = (
    "(a) False report of a finding in the candidate",
    "(b) Missing a finding present in the reference",
    "(c) Misidentification of a finding's anatomic location/position",
    "(d) Misassessment of the severity of a finding",
    "(e) Mentioning a comparison that isn't in the reference",
    "(f) Omitting a comparison detailing a change from a prior study",
)


def sentences(text: str) -> list[str]:
    """Normalised sentences (lower case, single spaces), in order, without repeats."""
    parts = (" ".join(p.lower().split()) for p in re.split(r"[.;\n]+", text))
    return list(dict.fromkeys(p for p in parts if p))


def split_prompt(prompt: str) -> tuple[str, str] | None:
    """(reference, candidate) from a GREEN prompt, or None when the prompt is not one."""
    found = GREEN_REPORTS.search(prompt)
    return (found["reference"], found["candidate"]) if found else None


def _section(title: str, counts: list[tuple[int, list[str]]]) -> str:
    lines = [f"[{title}]:"]
    for category, (count, items) in zip(CATEGORIES, counts, strict=True):
        lines.append(f"{category}: {count}." + (f" {'; '.join(items)}" if items else ""))
    return "\n".join(lines)


def green_completion(reference: str, candidate: str) -> str:
    ref, cand = sentences(reference), sentences(candidate)
    matched = [s for s in cand if s in ref]
    false_reports = [s for s in cand if s not in ref]
    missing = [s for s in ref if s not in cand]
    significant = [(len(false_reports), false_reports), (len(missing), missing)] + [(0, [])] * 4
    return "\n\n".join([
        "[Explanation]:\nSentences shared by both reports are matched findings; the others are errors.",
        _section("Clinically Significant Errors", significant),
        _section("Clinically Insignificant Errors", [(0, [])] * 6),
        f"[Matched Findings]:\n{len(matched)}." + (f" {'; '.join(matched)}" if matched else ""),
    ])


class SentenceOverlapJudge:
    id = "harness-plugin-example/sentence-overlap@1"

    def complete(self, prompts: list[str]) -> list[str]:
        """One completion per prompt; a prompt that is not a GREEN prompt gets 0 matched findings."""
        return [green_completion(*(split_prompt(prompt) or ("", ""))) for prompt in prompts]
