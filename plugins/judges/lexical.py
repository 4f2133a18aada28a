"""`lexical`: a deterministic, offline stand-in for a GREEN judge. NOT GREEN-calibrated.

It reads the reference and candidate out of the GREEN prompt, splits both into sentences, pairs
sentences by content-word overlap (Dice >= 0.5, best pairs first) and writes a completion in GREEN's
format that `harness.scoring.green.parse_completion` reads:

- a pair with the same polarity is a matched finding, unless both are positive and their laterality /
  position words differ (c) or their severity words differ (d);
- polarity differs ("no effusion" vs "effusion"): the candidate reports a false finding (a) when the
  reference negates it, and misses one (b) when the candidate negates it;
- an unpaired positive reference sentence is a missed finding (b), an unpaired positive candidate
  sentence a false one (a); unpaired negative sentences are insignificant errors of the same kind;
- a comparison (prior, interval, unchanged, ...) only in the candidate is (e), only in the reference (f).

Its numbers are not comparable with a GREEN model's: results carry its id, which says so.

    >>> from harness.scoring.green import make_prompt, parse_completion
    >>> judge = LexicalJudge()
    >>> parse_completion(judge.complete([make_prompt("Small left effusion. No ascites.",
    ...                                              "Small left effusion. Ascites.")])[0]).score
    0.5
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.scoring.green import format_completion, split_prompt


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATIONS = _words("no not without absent negative free unremarkable normal none nor neither unremarkably")
LOCATIONS = _words(
    "left right bilateral both upper lower anterior posterior medial lateral proximal distal superior "
    "inferior central peripheral apical basal"
)
SEVERITIES = _words(
    "mild mildly moderate moderately severe severely small large minimal marked trace extensive slight "
    "slightly massive tiny significant"
)
COMPARISONS = _words(
    "compared comparison prior previous previously interval unchanged stable new increased decreased "
    "progression progressed improved worsened resolved"
)
STOPWORDS = _words(
    "a an the is are was were be been being of in on at to with and or for by as there this that these "
    "those it its seen noted identified evidence demonstrated appears appear any also which from into "
    "within has have had shows show showing suggestive consistent findings finding"
)
THRESHOLD = 0.5


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclass(frozen=True)
class Sentence:
    text: str
    content: frozenset[str]
    negated: bool
    locations: frozenset[str]
    severities: frozenset[str]
    comparison: bool

    @classmethod
    def parse(cls, text: str) -> Sentence:
        words = [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())]
        marked = NEGATIONS | LOCATIONS | SEVERITIES | COMPARISONS | STOPWORDS
        return cls(
            text=text,
            content=frozenset(w for w in words if w not in marked),
            negated=any(w in NEGATIONS for w in words),
            locations=frozenset(w for w in words if w in LOCATIONS),
            severities=frozenset(w for w in words if w in SEVERITIES),
            comparison=any(w in COMPARISONS for w in words),
        )


def sentences(text: str) -> list[Sentence]:
    """Sentences split at '.', ';', '!' or '?' followed by whitespace, and at line breaks."""
    parts = re.split(r"(?<=[.;!?])\s+|\n+", text)
    return [Sentence.parse(p.strip()) for p in parts if re.search(r"[A-Za-z0-9]", p)]


def similarity(a: Sentence, b: Sentence) -> float:
    """Dice overlap of content words; two sentences without content words ("Normal.") are equal."""
    if not a.content and not b.content:
        return 1.0
    return 2 * len(a.content & b.content) / (len(a.content) + len(b.content))


def pair_sentences(reference: list[Sentence], candidate: list[Sentence]) -> list[tuple[int, int]]:
    """Greedy one-to-one pairing, most similar first; ties broken by position."""
    scored = sorted(
        ((similarity(r, c), i, j) for i, r in enumerate(reference) for j, c in enumerate(candidate)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for score, i, j in scored:
        if score < THRESHOLD:
            break
        if i not in used_r and j not in used_c:
            used_r.add(i)
            used_c.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def judge_texts(reference: str, candidate: str) -> str:
    """The GREEN-format completion for one reference and candidate."""
    ref, cand = sentences(reference), sentences(candidate)
    pairs = pair_sentences(ref, cand)
    matched: list[str] = []
    significant: list[list[str]] = [[] for _ in range(6)]
    insignificant: list[list[str]] = [[] for _ in range(6)]
    a, b, c, d, e, f = range(6)
    for i, j in pairs:
        r, s = ref[i], cand[j]
        if r.negated and not s.negated:
            significant[a].append(s.text)
        elif s.negated and not r.negated:
            significant[b].append(r.text)
        elif not r.negated and r.locations and s.locations and r.locations != s.locations:
            significant[c].append(s.text)
        elif not r.negated and r.severities and s.severities and r.severities != s.severities:
            significant[d].append(s.text)
        else:
            matched.append(r.text)
        if s.comparison and not r.comparison:
            significant[e].append(s.text)
        elif r.comparison and not s.comparison:
            significant[f].append(r.text)
    paired_r = {i for i, _ in pairs}
    paired_c = {j for _, j in pairs}
    for i, r in enumerate(ref):
        if i not in paired_r:
            (insignificant if r.negated else significant)[b].append(r.text)
    for j, s in enumerate(cand):
        if j not in paired_c:
            (insignificant if s.negated else significant)[a].append(s.text)
    explanation = (
        f"Lexical sentence matching (not GREEN-calibrated): {len(ref)} reference and {len(cand)} candidate "
        f"sentences, {len(pairs)} paired."
    )
    return format_completion(matched, significant, insignificant, explanation)


class LexicalJudge:
    """Deterministic offline judge; see the module docstring. Options: none."""

    id = "lexical-v1 (not GREEN-calibrated)"

    def complete(self, prompts: list[str]) -> list[str]:
        return [judge_texts(*split_prompt(prompt)) for prompt in prompts]
