"""GREEN judge traffic: the harness's scorer against the reference scorer's call pattern.

The reference (FLARE25-MLLM3D / Med3DVLM generate_green_score.py) calls GREEN once per case for the organs
in both reports (one prompt each) and once more per organ found only in the generated report, with no
deduplication and no cache, so rescoring repeats every call. The harness collects every pair of a run,
sends each distinct prompt once in batches of 8 and caches completions on disk.

    .venv/bin/python -m pytest benchmarks/test_bench_scoring.py --benchmark-only -s
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.scoring.green import format_completion, split_prompt
from harness.scoring.judging import GreenScorer
from harness_plugins.tasks.flare.files import read_report_csv
from harness_plugins.tasks.flare.report import parse_organs, score_reports

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "scoring" / "flare_report" / "generated.csv"


class CountingStandIn:
    """The fixtures' sha256 stand-in judge, counting invocations and prompts."""

    id = "stand-in-sha256"

    def __init__(self) -> None:
        self.invocations = 0
        self.prompts = 0

    def complete(self, prompts: list[str]) -> list[str]:
        self.invocations += 1
        self.prompts += len(prompts)
        out = []
        for prompt in prompts:
            reference, candidate = split_prompt(prompt)
            h = int(hashlib.sha256((reference + "\0" + candidate).encode()).hexdigest(), 16)
            out.append(format_completion(["f"] * (h % 6), [["e"] * (((h >> (3 * i + 8)) % 7) // 4) for i in range(6)]))
        return out


def reference_pattern(items: list[tuple[str, str, str]]) -> tuple[int, int]:
    """(judge invocations, prompts) of the reference scorer for one scoring pass."""
    invocations = prompts = 0
    for _, reference, generated in items:
        gt, gen = parse_organs(reference), parse_organs(generated)
        both = [o for o in gen if o in gt]
        only_generated = [o for o in gen if o not in gt]
        invocations += (1 if both else 0) + len(only_generated)
        prompts += len(both) + len(only_generated)
    return invocations, prompts


def test_judge_calls_per_case(benchmark, tmp_path):
    items = read_report_csv(FIXTURE)
    ref_invocations, ref_prompts = reference_pattern(items)

    first = CountingStandIn()
    score_reports(items, GreenScorer(first, cache_dir=tmp_path, progress=False))
    rescore = CountingStandIn()
    score_reports(items, GreenScorer(rescore, cache_dir=tmp_path, progress=False))

    def scoring_pass() -> None:
        score_reports(items, GreenScorer(CountingStandIn(), progress=False))

    benchmark(scoring_pass)
    n = len(items)
    figures = {
        "cases": n,
        "reference_invocations_per_case": ref_invocations / n,
        "reference_prompts_per_case": ref_prompts / n,
        "harness_invocations_per_case": first.invocations / n,
        "harness_prompts_per_case": first.prompts / n,
        "harness_rescore_prompts": rescore.prompts,
        "reference_rescore_prompts": ref_prompts,
    }
    benchmark.extra_info.update(figures)
    print("\n" + "\n".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in figures.items()))
