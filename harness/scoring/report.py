"""Per-organ GREEN for report generation, aggregated as the FLARE 2025 organisers do.

    >>> from harness.scoring.report import parse_organs
    >>> parse_organs("Liver: normal.\\nspleen - enlarged\\nliver: cyst")
    {'liver': 'cyst', 'spleen': 'enlarged'}

Per case (reference/flare_scoring.md): organs in both reports are judged reference vs generated; organs
only in the generated report are judged with the generated text as reference and "<organ> is normal." as
candidate; organs only in the reference score 0. The case score is the mean over those organs (0 when
there are none) and `green` is the mean over cases. `organs` is the official per-organ figure: the mean
of an organ's score over the cases whose reference has it. `organs_all_cases` is the Med3DVLM README's
table: every organ seen in any report, averaged over all cases with 0 where the organ was not scored.

All pairs of a run go to the judge in one `GreenScorer.score_pairs` call, so each distinct prompt is
sent once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness.scoring.judging import GreenScorer

TASK = "flare_report"
_LINE = re.compile(r"([^:–\-]+)[:–\-]\s*(.+)")

Report = str | Mapping[str, Any]


def parse_organs(report: Report) -> dict[str, str]:
    """A report as organ -> text: the JSON object it is, else its ``organ: text`` lines (later keys win).

    JSON keys are kept as written; line keys are stripped and lower-cased, like the reference's `to_dict`."""
    if isinstance(report, Mapping):
        return {str(k): _text(v) for k, v in report.items()}
    try:
        data = json.loads(report)
    except (ValueError, TypeError):
        data = None
    if isinstance(data, dict):
        return {str(k): _text(v) for k, v in data.items()}
    organs: dict[str, str] = {}
    for line in (raw.strip() for raw in report.splitlines()):
        match = _LINE.match(line) if line else None
        if match:
            organs[match.group(1).strip().lower()] = match.group(2).strip()
    return organs


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def normal_sentence(organ: str) -> str:
    """The candidate the reference scorer assumes for an organ the reference report does not mention."""
    return f"{organ} is normal."


def _case_plan(reference: Report, generated: Report) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(organ, reference text, candidate text) to judge, and the organs that score 0 (omitted)."""
    gt, gen = parse_organs(reference), parse_organs(generated)
    judged = [(organ, gt[organ], text) for organ, text in gen.items() if organ in gt]
    judged += [(organ, text, normal_sentence(organ)) for organ, text in gen.items() if organ not in gt]
    omitted = [organ for organ in gt if organ not in gen]
    return judged, omitted


def score_reports(items: Sequence[tuple[str, Report, Report]], scorer: GreenScorer) -> dict[str, Any]:
    """Score (case_id, reference report, generated report) triples; returns the DESIGN scores object.

    Keys: task, green, organs, organs_all_cases, n_cases, judge (FIXED); per_case (case_id -> score and
    organ scores; a repeated case id gets ``#2``, ``#3``... so every row stays), judge_calls (the scorer's
    traffic for this call) and judge_calls_reference (what the reference scorer would send: one prompt per
    judged organ, no deduplication or cache)."""
    plans = [_case_plan(reference, generated) for _, reference, generated in items]
    pairs = [(ref, cand) for judged, _ in plans for _, ref, cand in judged]
    before = dataclasses.replace(scorer.stats)
    parses = iter(scorer.score_pairs(pairs))

    per_case: dict[str, dict[str, Any]] = {}
    case_scores: list[float] = []
    organ_scores: list[dict[str, float]] = []
    for (case_id, _, _), (judged, omitted) in zip(items, plans, strict=True):
        organs = {organ: next(parses).score for organ, _, _ in judged}
        organs.update({organ: 0.0 for organ in omitted})
        score = sum(organs.values()) / (len(organs) or 1)
        case_scores.append(score)
        organ_scores.append(organs)
        per_case[_unique(per_case, case_id)] = {"score": score, "organs": organs}

    official_totals: dict[str, float] = {}
    official_counts: dict[str, int] = {}
    for (_, reference, _), organs in zip(items, organ_scores, strict=True):
        for organ in parse_organs(reference):
            official_totals[organ] = official_totals.get(organ, 0.0) + organs[organ]
            official_counts[organ] = official_counts.get(organ, 0) + 1
    all_totals: dict[str, float] = {}
    for organs in organ_scores:
        for organ, value in organs.items():
            all_totals[organ] = all_totals.get(organ, 0.0) + value

    n = len(items)
    return {
        "task": TASK,
        "green": sum(case_scores) / n if n else 0.0,
        "organs": {organ: official_totals[organ] / official_counts[organ] for organ in official_totals},
        "organs_all_cases": {organ: total / n for organ, total in all_totals.items()},
        "n_cases": n,
        "judge": scorer.judge_id,
        "judge_calls": scorer.stats.minus(before).to_json(),
        "judge_calls_reference": len(pairs),
        "per_case": per_case,
    }


def _unique(existing: Mapping[str, Any], key: str) -> str:
    if key not in existing:
        return key
    index = 2
    while f"{key}#{index}" in existing:
        index += 1
    return f"{key}#{index}"
