"""The official FLARE scorer's stateful GREEN (sub-categories switched to "(1)".."(6)") and the stateless figures."""

from __future__ import annotations

import pytest

from harness.scoring.green import OfficialGreenState, parse_completion, split_prompt, switches_to_numbered
from harness.scoring.judging import GreenScorer
from harness_plugins.tasks.flare.report import score_reports

NUMBERED = "[Clinically Significant Errors]:\n(1) False report: 1. x\n\n[Matched Findings]:\n2. a; b"
LETTERED = ("[Clinically Significant Errors]:\n(a) False report of a finding in the candidate: 1. x\n"
            "(b) Missing a finding present in the reference: 1. y\n\n[Matched Findings]:\n2. a; b")


class ScriptedJudge:
    """Answers by candidate text: ``script[candidate]``; records every batch it is sent."""

    id = "scripted"

    def __init__(self, script: dict[str, str]) -> None:
        self.script = script
        self.batches: list[list[str]] = []

    def complete(self, prompts: list[str]) -> list[str]:
        self.batches.append(list(prompts))
        return [self.script[split_prompt(p)[1]] for p in prompts]


def test_the_issue_example_official_and_stateless():
    judge = ScriptedJudge({"numbered liver": NUMBERED, "lettered spleen": LETTERED})
    items = [("c1", "liver: ref", "liver: numbered liver"), ("c2", "spleen: ref", "spleen: lettered spleen")]
    scores = score_reports(items, GreenScorer(judge, progress=False))
    assert round(scores["green"], 6) == 0.833333
    assert scores["organs"] == {"liver": pytest.approx(2 / 3), "spleen": 1.0}
    assert round(scores["green_stateless"], 6) == 0.583333
    assert scores["organs_stateless"] == {"liver": pytest.approx(2 / 3), "spleen": 0.5}
    assert scores["per_case"]["c2"]["score"] == 1.0 and scores["per_case"]["c2"]["score_stateless"] == 0.5
    assert scores["organs_all_cases_stateless"]["spleen"] == 0.25 and scores["judge_batching"] == "default"


def test_the_order_of_cases_decides_the_official_figure():
    judge = ScriptedJudge({"numbered liver": NUMBERED, "lettered spleen": LETTERED})
    items = [("c2", "spleen: ref", "spleen: lettered spleen"), ("c1", "liver: ref", "liver: numbered liver")]
    scores = score_reports(items, GreenScorer(judge, progress=False))
    assert scores["green"] == scores["green_stateless"] == pytest.approx((0.5 + 2 / 3) / 2)


def test_state_changes_after_a_call_not_within_it():
    # one case, both organs in both reports: one GREEN call, scored before the summary switches the state
    judge = ScriptedJudge({"numbered liver": NUMBERED, "lettered spleen": LETTERED})
    items = [("c", "liver: r\nspleen: r", "liver: numbered liver\nspleen: lettered spleen"),
             ("d", "spleen: r", "spleen: lettered spleen")]
    scores = score_reports(items, GreenScorer(judge, progress=False))
    assert scores["per_case"]["c"]["organs"] == {"liver": pytest.approx(2 / 3), "spleen": 0.5}
    assert scores["per_case"]["d"]["organs"] == {"spleen": 1.0}  # the next call sees the switched state
    assert len({p for batch in judge.batches for p in batch}) == 2  # deduplicated: the repeat is not sent


def test_generated_only_organs_are_their_own_calls_after_the_shared_ones():
    # the generated-only organ (kidneys, numbered) is a call after the shared organs' call: it switches the
    # state only for later calls, and the spleen call of the same case, made before it, is not affected
    judge = ScriptedJudge({"numbered": NUMBERED, "lettered spleen": LETTERED, "kidneys is normal.": NUMBERED})
    items = [("c", "spleen: r", "kidneys: numbered\nspleen: lettered spleen"),
             ("d", "spleen: r", "spleen: lettered spleen")]
    scores = score_reports(items, GreenScorer(judge, progress=False))
    assert scores["per_case"]["c"]["organs"] == {"spleen": 0.5, "kidneys": pytest.approx(2 / 3)}
    assert scores["per_case"]["d"]["organs"] == {"spleen": 1.0}


@pytest.mark.parametrize(
    ("completion", "switches"),
    [
        (NUMBERED, True),
        (LETTERED, False),
        ("[Clinically Significant Errors]:\n0.\n\n[Matched Findings]:\n1. a", True),  # no lettered line at all
        ("[Clinically Significant Errors]:\nNo errors.\n\n[Matched Findings]:\n1. a", False),
        ("[Matched Findings]:\n1. a", False),  # section missing
        ("[Explanation]:\nx\n\n[Clinically Significant Errors]:\n(1) e: 1.\n\n[Matched Findings]:\n1.", True),
    ],
)
def test_which_completions_switch_the_state(completion, switches):
    assert switches_to_numbered(completion) is switches


def test_after_the_switch_lettered_lines_count_nothing_numbered_ones_still_count():
    state = OfficialGreenState()
    assert [p.score for p in state.call([LETTERED])] == [0.5]
    state.call([NUMBERED])
    assert state.numbered
    assert [p.score for p in state.call([LETTERED, NUMBERED])] == [1.0, pytest.approx(2 / 3)]
    assert parse_completion(LETTERED, numbered=True).significant == (0,) * 6
