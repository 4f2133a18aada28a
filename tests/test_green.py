"""GREEN prompt and completion parsing, checked against the reference parser's scores."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.scoring.green import (
    clean_completion,
    format_completion,
    make_prompt,
    parse_completion,
    split_prompt,
)

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
COMPLETIONS = json.loads((FIXTURES / "green" / "completions.json").read_text())


@pytest.mark.parametrize("item", COMPLETIONS, ids=[c["note"] for c in COMPLETIONS])
def test_every_fixture_completion_scores_as_the_reference(item):
    assert parse_completion(item["completion"]).score == pytest.approx(item["green"], abs=1e-12)


# sha256 of green_score's make_prompt output for these inputs (computed with the reference function).
GOLDEN = [
    (("Liver is normal.", "The liver\n is  normal."),
     "49510a7bf0516bb533459e326defe1d190895d8e8538f88677e72ff310f188a0"),
    ((" ".join(f"w{i}" for i in range(400)), "Ünïcode – côde:\tx"),
     "589cae69ab529e742aa73112ca769c579c6588e6a05e02c62b99c3acfbc20f72"),
]


@pytest.mark.parametrize(("texts", "digest"), GOLDEN)
def test_prompt_matches_green_byte_for_byte(texts, digest):
    assert hashlib.sha256(make_prompt(*texts).encode("utf-8")).hexdigest() == digest


def test_prompt_keeps_300_words_and_split_prompt_recovers_them():
    reference = " ".join(f"r{i}" for i in range(350))
    got_reference, got_candidate = split_prompt(make_prompt(reference, "  a\n\tb  "))
    assert got_reference.split() == [f"r{i}" for i in range(300)]
    assert got_candidate == "a b"


def test_split_prompt_rejects_other_text():
    with pytest.raises(ValueError):
        split_prompt("Please compare these reports.")


SECTIONS = (
    "[Clinically Significant Errors]:\n(a) False: 1. x\n(b) Missing: 2. y; z\n\n"
    "[Clinically Insignificant Errors]:\n(c) Location: 4. q\n\n[Matched Findings]:\n3. a; b; c"
)


def test_counts_and_score():
    parsed = parse_completion(SECTIONS)
    assert parsed.matched == 3
    assert parsed.significant == (1, 2, 0, 0, 0, 0)
    assert parsed.insignificant == (0, 0, 4, 0, 0, 0)
    assert parsed.score == pytest.approx(3 / 6)


def test_full_decode_is_cut_after_the_last_assistant_tag():
    prompt = make_prompt("Liver normal.", "Liver normal.")
    decoded = f"<|user|>\n{prompt}\n<|assistant|>\n[Explanation]:\nSame.\n\n{SECTIONS}</s>"
    assert parse_completion(decoded).score == pytest.approx(0.5)


def test_template_explanation_quirk_keeps_text_between_the_first_two_explanations():
    # green_score's `("A" or "B") in text` only tests the first form, then keeps split(...)[1].
    text = "[Explanation]:\n    <Explanation>\nnothing\n\n[Explanation]:\n" + SECTIONS
    assert clean_completion(text).startswith("\n    <Explanation>\nnothing")
    assert parse_completion(text).score == 0
    other = "[Explanation]:\n<Explanation>\nnothing\n\n[Explanation]:\n" + SECTIONS
    assert parse_completion(other).score == pytest.approx(0.5)


def test_special_tokens_are_removed():
    assert clean_completion("a</s>b<unk>c") == "abc"


def test_section_without_blank_line_swallows_the_next_and_last_sorted_line_wins():
    text = (
        "[Clinically Significant Errors]:\n(a) False: 0.\n[Clinically Insignificant Errors]:\n(a) False: 2. x\n\n"
        "[Matched Findings]:\n2. a; b"
    )
    parsed = parse_completion(text)
    assert parsed.significant[0] == 2  # "(a) False: 2. x" sorts after "(a) False: 0."
    assert parsed.score == pytest.approx(0.5)


def test_numbered_categories_are_used_only_without_lettered_ones():
    numbered = "[Clinically Significant Errors]:\n(1) False: 1. x\n(6) Omit: 1. y\n\n[Matched Findings]:\n2. a"
    assert parse_completion(numbered).significant == (1, 0, 0, 0, 0, 1)
    mixed = numbered.replace("(6) Omit", "(b) Missing")
    assert parse_completion(mixed).significant == (0, 1, 0, 0, 0, 0)


@pytest.mark.parametrize(
    "matched_section",
    ["[Matched Findings]:\nNo matched findings.", "[Matched Findings]:\nthree. a", "[Matched Findings]:\n0. ", ""],
)
def test_no_matched_findings_scores_zero(matched_section):
    assert parse_completion("[Clinically Significant Errors]:\nNo errors.\n\n" + matched_section).score == 0


def test_significant_section_starting_with_no_counts_zero():
    parsed = parse_completion("[Clinically Significant Errors]:\nNone (a) x: 3.\n\n[Matched Findings]:\n2. a")
    assert parsed.significant == (0,) * 6
    assert parsed.score == 1.0


def test_format_completion_round_trips_through_the_parser():
    text = format_completion(["a", "b (left)", "c\n\nd"], [["x"], [], ["y", "z"], [], [], []], explanation="e")
    parsed = parse_completion(text)
    assert (parsed.matched, parsed.significant) == (3, (1, 0, 2, 0, 0, 0))
    assert parsed.score == pytest.approx(3 / 6)
