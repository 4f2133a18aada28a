"""Per-organ GREEN for report generation, aggregated as the FLARE 2025 organisers do.

    >>> from harness_plugins.tasks.flare.report import parse_organs
    >>> parse_organs("Liver: normal.\\nspleen - enlarged\\nliver: cyst")
    {'liver': 'cyst', 'spleen': 'enlarged'}

Per case (reference/flare_scoring.md): organs in both reports are judged reference vs generated; organs
only in the generated report are judged with the generated text as reference and "<organ> is normal." as
candidate; organs only in the reference score 0. The case score is the mean over those organs (0 when
there are none) and `green` is the mean over cases. `organs` is the official per-organ figure: the mean
of an organ's score over the cases whose reference has it. `organs_all_cases` is the Med3DVLM README's
table: every organ seen in any report, averaged over all cases with 0 where the organ was not scored.

The official scorer keeps one GREEN object for the whole run, whose state changes after a numbered
completion (`harness.scoring.green.OfficialGreenState`): `green`, `organs` and `organs_all_cases` replay
the official script's GREEN calls in its order (cases in file order; per case one call for the organs in
both reports, in the generated report's order, then one call per organ only in the generated report) and
carry that state. `green_stateless`, `organs_stateless` and `organs_all_cases_stateless` parse each
completion on its own. All prompts of a run go to the judge through one `GreenScorer.complete_calls`, so
each distinct prompt is sent once (in default batching) and the state machine replays the completions.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness.scoring.green import OfficialGreenState, make_prompt, parse_completion, skipped_reason
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


def _case_calls(reference: Report, judged: list[tuple[str, str, str]]) -> list[int]:
    """Sizes of the official script's GREEN calls for one case: one call for the organs in both reports
    (when there are any), then one call per organ only in the generated report."""
    gt = parse_organs(reference)
    both = sum(organ in gt for organ, _, _ in judged)
    return ([both] if both else []) + [1] * (len(judged) - both)


def _aggregate(items: Sequence[tuple[str, Report, Report]], organ_scores: list[dict[str, float]]
               ) -> tuple[float, dict[str, float], dict[str, float], list[float]]:
    """green, organs (official: over cases whose reference has the organ), organs_all_cases, case scores."""
    case_scores = [sum(o.values()) / (len(o) or 1) for o in organ_scores]
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for (_, reference, _), organs in zip(items, organ_scores, strict=True):
        for organ in parse_organs(reference):
            totals[organ] = totals.get(organ, 0.0) + organs[organ]
            counts[organ] = counts.get(organ, 0) + 1
    all_totals: dict[str, float] = {}
    for organs in organ_scores:
        for organ, value in organs.items():
            all_totals[organ] = all_totals.get(organ, 0.0) + value
    n = len(items)
    return (sum(case_scores) / n if n else 0.0, {o: totals[o] / counts[o] for o in totals},
            {o: t / n for o, t in all_totals.items()}, case_scores)


def score_reports(items: Sequence[tuple[str, Report, Report]], scorer: GreenScorer) -> dict[str, Any]:
    """Score (case_id, reference report, generated report) triples; returns the DESIGN scores object.

    Keys: task, green, organs, organs_all_cases, n_cases, judge (FIXED), the official figures: the
    official script's GREEN calls replayed through `OfficialGreenState`. Beside them the order-independent
    figures, each completion parsed on its own: green_stateless, organs_stateless,
    organs_all_cases_stateless. Also per_case (case_id -> official score and organ scores, and the
    stateless score; a repeated case id gets ``#2``, ``#3``... so every row stays), official_summary_crashes
    (GREEN calls on which the official script raises KeyError in GREEN's summary and stops), judge_batching,
    judge_skipped (prompts the judge could not complete: case, organ, reason; they score 0), judge_calls
    (the scorer's traffic for this call) and judge_calls_reference (what the reference scorer would send:
    one prompt per judged organ, no deduplication or cache)."""
    plans = [_case_plan(reference, generated) for _, reference, generated in items]
    prompts: list[list[str]] = []
    for (_, reference, _), (judged, _) in zip(items, plans, strict=True):
        case_prompts = [make_prompt(ref, cand) for _, ref, cand in judged]
        start = 0
        for size in _case_calls(reference, judged):
            prompts.append(case_prompts[start:start + size])
            start += size
    before = dataclasses.replace(scorer.stats)
    calls = scorer.complete_calls(prompts)

    state = OfficialGreenState()
    official = iter([p.score for call in calls for p in state.call(call)])
    stateless = iter([parse_completion(c).score for call in calls for c in call])
    completions = iter([c for call in calls for c in call])

    per_case: dict[str, dict[str, Any]] = {}
    organ_scores: list[dict[str, float]] = []
    organ_stateless: list[dict[str, float]] = []
    skipped: list[dict[str, str]] = []
    for (case_id, _, _), (judged, omitted) in zip(items, plans, strict=True):
        organs: dict[str, float] = {}
        loose: dict[str, float] = {}
        for organ, _, _ in judged:
            organs[organ], loose[organ] = next(official), next(stateless)
            reason = skipped_reason(next(completions))
            if reason is not None:
                skipped.append({"case_id": case_id, "organ": organ, "reason": reason})
        for organ in omitted:
            organs[organ] = loose[organ] = 0.0
        organ_scores.append(organs)
        organ_stateless.append(loose)
        per_case[_unique(per_case, case_id)] = {
            "score": sum(organs.values()) / (len(organs) or 1), "organs": organs,
            "score_stateless": sum(loose.values()) / (len(loose) or 1),
        }

    green, by_organ, all_cases, _ = _aggregate(items, organ_scores)
    green_stateless, by_organ_stateless, all_cases_stateless, _ = _aggregate(items, organ_stateless)
    return {
        "task": TASK,
        "green": green,
        "organs": by_organ,
        "organs_all_cases": all_cases,
        "n_cases": len(items),
        "judge": scorer.judge_id,
        "green_stateless": green_stateless,
        "organs_stateless": by_organ_stateless,
        "organs_all_cases_stateless": all_cases_stateless,
        "official_summary_crashes": state.crashes,
        "judge_batching": scorer.batching,
        "judge_skipped": skipped,
        "judge_calls": scorer.stats.minus(before).to_json(),
        "judge_calls_reference": sum(len(call) for call in prompts),
        "per_case": per_case,
    }


def _unique(existing: Mapping[str, Any], key: str) -> str:
    if key not in existing:
        return key
    index = 2
    while f"{key}#{index}" in existing:
        index += 1
    return f"{key}#{index}"
