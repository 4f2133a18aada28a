"""The GREEN prompt and the parsing of a GREEN judge's completion, exactly as green_score does them.

    >>> from harness.scoring.green import make_prompt, parse_completion, split_prompt
    >>> prompt = make_prompt("Liver is normal.", "The  liver\\nis normal.")
    >>> split_prompt(prompt)
    ('Liver is normal.', 'The liver is normal.')
    >>> text = "[Clinically Significant Errors]:\\n(b) Missing: 1. x\\n\\n[Matched Findings]:\\n3. a; b; c"
    >>> parse_completion(text).score
    0.75

The template and the parser are Stanford-AIMI/GREEN's (its green_score package, as the published
reference scorers vendor it): a judge fine-tuned for GREEN was trained on this exact prompt, and the
published scores depend on these parsing rules, quirks included:

- `clean_responses`: when "[Explanation]:" occurs, the text after the last "<|assistant|>" is kept, then
  the text after the first "[Explanation]:" (up to a second one) when the completion repeats the template's
  "[Explanation]:\\n    <Explanation>\\n" verbatim, otherwise the text after the last "[Explanation]:";
  "</s>" and "<unk>" are removed.
- A section "[Name]:" runs from the colon (leading whitespace skipped) to the first blank line or the end,
  so a completion without blank lines makes the significant-errors section swallow the insignificant one.
- Error lines are every "(a) ..." to "(f) ..." in the section (anywhere in a line), sorted as strings;
  for each category the last sorted line with a ": N." count wins. Numbered "(1)".."(6)" lines are used
  only when no lettered line exists. A section starting with "No" counts 0.
- score = matched / (matched + sum of the six significant counts), and 0 when matched is 0.

A reference scorer that keeps one GREEN object for the whole run (as the official challenge scorer does)
is changed by it: GREEN's summary step (`parse_error_sentences`) replaces the object's sub-categories by
"(1) ".."(6) " the first time a completion's significant-errors section has no "(a)".."(f)" line (the
section present and not starting with "No"). From then on a lettered line never matches, so lettered
completions count 0 errors in both error sections. `OfficialGreenState` replays that:
``parse_completion(text, numbered=True)`` is the parse after the switch, `switches_to_numbered` says
whether a completion flips it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_WORDS = 300
"""Reference and candidate are cut to their first 300 whitespace-separated words."""

_REFERENCE_HEAD = "\n\n    2. Reference Report:\n    "
_CANDIDATE_HEAD = "\n\n    3. Candidate Report:\n    "
_ASSESSMENT_HEAD = "\n\n    4. Reporting Your Assessment:\n\n"

_PREAMBLE = (
    "Objective: Evaluate the accuracy of a candidate radiology report in comparison to a reference radiology "
    "report composed by expert radiologists.\n\n"
    "    Process Overview: You will be presented with:\n\n"
    "    1. The criteria for making a judgment.\n"
    "    2. The reference radiology report.\n"
    "    3. The candidate radiology report.\n"
    "    4. The desired format for your assessment.\n\n"
    "    1. Criteria for Judgment:\n\n"
    "    For each candidate report, determine:\n\n"
    "    The count of clinically significant errors.\n"
    "    The count of clinically insignificant errors.\n\n"
    "    Errors can fall into one of these categories:\n\n"
    "    a) False report of a finding in the candidate.\n"
    "    b) Missing a finding present in the reference.\n"
    "    c) Misidentification of a finding's anatomic location/position.\n"
    "    d) Misassessment of the severity of a finding.\n"
    "    e) Mentioning a comparison that isn't in the reference.\n"
    "    f) Omitting a comparison detailing a change from a prior study.\n"
    "    Note: Concentrate on the clinical findings rather than the report's writing style. Evaluate only the "
    "findings that appear in both reports."
)
_ERROR_LINE = "<Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>"
_FORMAT = (
    "    Follow this specific format for your output, even if no errors are found:\n"
    "    ```\n"
    "    [Explanation]:\n"
    "    <Explanation>\n\n"
    "    [Clinically Significant Errors]:\n"
    f"    (a) {_ERROR_LINE}\n"
    "    ....\n"
    f"    (f) {_ERROR_LINE}\n\n"
    "    [Clinically Insignificant Errors]:\n"
    f"    (a) {_ERROR_LINE}\n"
    "    ....\n"
    f"    (f) {_ERROR_LINE}\n\n"
    "    [Matched Findings]:\n"
    "    <The number of matched findings>. <Finding 1>; <Finding 2>; ...; <Finding n>\n"
    "    ```\n"
)

SIGNIFICANT = "Clinically Significant Errors"
INSIGNIFICANT = "Clinically Insignificant Errors"
MATCHED = "Matched Findings"

ERROR_CATEGORIES = (
    "(a) False report of a finding in the candidate",
    "(b) Missing a finding present in the reference",
    "(c) Misidentification of a finding's anatomic location/position",
    "(d) Misassessment of the severity of a finding",
    "(e) Mentioning a comparison that isn't in the reference",
    "(f) Omitting a comparison detailing a change from a prior study",
)
"""The six error categories, in the order of the counts in `GreenParse`, as a judge names them."""


_LETTERED = r"\([a-f]\) .*"


def _truncate(text: str, max_words: int = MAX_WORDS) -> str:
    return " ".join(text.split()[:max_words])


def make_prompt(reference: str, candidate: str) -> str:
    """GREEN's prompt for one (reference, candidate) pair, byte for byte as green_score builds it."""
    return (
        f"{_PREAMBLE}{_REFERENCE_HEAD}{_truncate(reference)}{_CANDIDATE_HEAD}{_truncate(candidate)}"
        f"{_ASSESSMENT_HEAD}{_FORMAT}"
    )


def split_prompt(prompt: str) -> tuple[str, str]:
    """The (reference, candidate) texts inside a GREEN prompt, as truncated by `make_prompt`.

    Judges receive only prompts; offline judges use this to find what to compare."""
    head, found, rest = prompt.partition(_REFERENCE_HEAD)
    reference, found2, rest = rest.partition(_CANDIDATE_HEAD)
    candidate, found3, _ = rest.partition(_ASSESSMENT_HEAD)
    if not (found and found2 and found3) or head != _PREAMBLE:
        raise ValueError("not a GREEN prompt (made by harness.scoring.green.make_prompt)")
    return reference, candidate


@dataclass(frozen=True)
class GreenParse:
    """What a GREEN completion says: the score and the counts behind it."""

    score: float
    matched: int
    significant: tuple[int, int, int, int, int, int]
    """Clinically significant error counts, categories (a) to (f)."""
    insignificant: tuple[int, int, int, int, int, int]

    def to_json(self) -> dict[str, object]:
        return {
            "score": self.score,
            "matched": self.matched,
            "significant": list(self.significant),
            "insignificant": list(self.insignificant),
        }


def clean_completion(text: str) -> str:
    """green_score's `clean_responses`, quirks included (see the module docstring)."""
    explanation = "[Explanation]:"
    if explanation in text:
        if "<|assistant|>" in text:
            text = text.split("<|assistant|>")[-1]
        # green_score tests `("...\n    <Explanation>\n" or "...") in response`, which is only the first form.
        if "[Explanation]:\n    <Explanation>\n" in text:
            text = text.split(explanation)[1]
        else:
            text = text.split(explanation)[-1]
    if "<|assistant|>" in text:
        text = text.split("<|assistant|>")[-1]
    return text.replace("</s>", "").replace("<unk>", "")


def _section(text: str, name: str) -> str | None:
    match = re.search(rf"\[{name}\]:\s*(.*?)(?:\n\s*\n|\Z)", text, re.DOTALL)
    return match.group(1) if match else None


def _matched_count(text: str) -> int:
    body = _section(text, MATCHED)
    if body is None or body.startswith("No"):
        return 0
    found = re.findall(r"^\b\d+\b(?=\.)", body)
    return int(found[0]) if found else 0


def _error_counts(text: str, name: str, numbered: bool = False) -> tuple[int, int, int, int, int, int]:
    counts = [0] * 6
    body = _section(text, name)
    if body is None or body.startswith("No"):
        return tuple(counts)  # type: ignore[return-value]
    lines = sorted(re.findall(_LETTERED, body))
    prefixes = [f"({number}) " for number in range(1, 7)] if numbered else [f"({letter}) " for letter in "abcdef"]
    if not lines:
        lines = sorted(re.findall(r"\([1-6]\) .*", body))
        prefixes = [f"({number}) " for number in range(1, 7)]
    for position, prefix in enumerate(prefixes):
        for line in lines:
            if line.startswith(prefix):
                found = re.findall(r"(?<=: )\b\d+\b(?=\.)", line)
                if found:
                    counts[position] = int(found[0])
    return tuple(counts)  # type: ignore[return-value]


def parse_completion(text: str, *, numbered: bool = False) -> GreenParse:
    """Score one judge completion (the generated text, or prompt and text decoded together).

    ``numbered=True`` parses as the official scorer's GREEN object does once its sub-categories have
    switched to "(1) ".."(6) " (see `OfficialGreenState`)."""
    cleaned = clean_completion(text)
    matched = _matched_count(cleaned)
    significant = _error_counts(cleaned, SIGNIFICANT, numbered)
    insignificant = _error_counts(cleaned, INSIGNIFICANT, numbered)
    score = 0.0 if matched == 0 else matched / (matched + sum(significant))
    return GreenParse(score, matched, significant, insignificant)


def switches_to_numbered(text: str) -> bool:
    """Whether GREEN's summary step switches its sub-categories to "(1) ".."(6) " on this completion: its
    significant-errors section exists, does not start with "No" and has no "(a)".."(f)" line."""
    body = _section(clean_completion(text), SIGNIFICANT)
    return body is not None and not body.startswith("No") and not re.search(_LETTERED, body)


class OfficialGreenState:
    """The official scorer's one GREEN object, replayed: its calls in order, each scored with the state it
    starts with, then the state updated from the call's completions (GREEN's summary runs after scoring).

        >>> state = OfficialGreenState()
        >>> numbered = "[Clinically Significant Errors]:\\n(1) x: 1.\\n\\n[Matched Findings]:\\n2."
        >>> lettered = "[Clinically Significant Errors]:\\n(a) x: 2.\\n\\n[Matched Findings]:\\n2."
        >>> [p.score for p in state.call([numbered])], [p.score for p in state.call([lettered])]
        ([0.6666666666666666], [1.0])
    """

    def __init__(self) -> None:
        self.numbered = False
        self.crashes = 0
        """Calls on which the official GREEN's summary raises KeyError (see `summary_crashes`)."""

    def call(self, completions: list[str]) -> list[GreenParse]:
        """Parse one GREEN call's completions (one ``GREEN(refs, hyps)`` of the official script)."""
        parses = [parse_completion(c, numbered=self.numbered) for c in completions]
        self.crashes += summary_crashes(completions, numbered=self.numbered)
        self.numbered = self.numbered or any(switches_to_numbered(c) for c in completions)
        return parses


def summary_crashes(completions: list[str], *, numbered: bool) -> bool:
    """Whether the official GREEN's summary raises KeyError on this call, ending the official run.

    The completion that switches the state builds its sentence dict with the lettered keys and adds only
    the numbered categories it has lines for; completions after it in the call start with all six
    numbered keys. So the summary looks up a missing "(k) " when the switch happens on the call's last
    completion and that completion lacks a "(k)" line."""
    if numbered:
        return False
    first = next((i for i, c in enumerate(completions) if switches_to_numbered(c)), None)
    if first is None or first < len(completions) - 1:
        return False
    body = _section(clean_completion(completions[first]), SIGNIFICANT) or ""
    present = {line[:4] for line in re.findall(r"\([1-6]\) .*", body)}
    return len(present) < 6


SKIPPED_PREFIX = "[harness: judge skipped this prompt: "


def skipped_completion(reason: str) -> str:
    """The completion a judge returns for a prompt it could not complete; it scores 0 and is listed."""
    return f"{SKIPPED_PREFIX}{reason}]"


def skipped_reason(completion: str) -> str | None:
    """The reason in a `skipped_completion`, else None."""
    return completion[len(SKIPPED_PREFIX):-1] if completion.startswith(SKIPPED_PREFIX) else None


def format_completion(
    matched: list[str],
    significant: list[list[str]],
    insignificant: list[list[str]] | None = None,
    explanation: str = "",
) -> str:
    """A completion in GREEN's output format: findings listed per category, counted by the parser.

    Used by offline judges; items lose parentheses and line breaks so they cannot be read as counts."""

    def items(values: list[str]) -> str:
        cleaned = [re.sub(r"[()\n;]+", " ", v).strip() for v in values]
        listed = "; ".join(v for v in cleaned if v)
        return f"{len(values)}." + (f" {listed}" if listed else "")

    def block(title: str, groups: list[list[str]]) -> str:
        lines = [f"{category}: {items(group)}" for category, group in zip(ERROR_CATEGORIES, groups, strict=True)]
        return f"[{title}]:\n" + "\n".join(lines)

    insignificant = insignificant if insignificant is not None else [[] for _ in ERROR_CATEGORIES]
    if len(significant) != 6 or len(insignificant) != 6:
        raise ValueError("significant and insignificant need one list per category (a)-(f)")
    return "\n\n".join([
        f"[Explanation]:\n{explanation.strip() or 'No explanation.'}",
        block(SIGNIFICANT, significant),
        block(INSIGNIFICANT, insignificant),
        f"[{MATCHED}]:\n{items(matched)}",
    ])
