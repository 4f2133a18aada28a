"""The `hf` judge's id names every setting that changes a completion, and the official batching mode's traffic."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.scoring.judging import CompletionCache, GreenScorer, official_batches

hf = pytest.importorskip("harness_plugins.judges.hf")


def test_judges_differing_in_any_setting_never_share_a_cache_file(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights v1")
    base = {"model": str(folder), "device": "cpu"}
    variants = [{}, {"dtype": "float16"}, {"max_length": 1024}, {"batching": "official"},
                {"cache_implementation": "static"}, {"generation": "continuous"}, {"attn_implementation": "eager"},
                {"max_new_tokens": 300}]
    ids = [hf.HFJudge(**base, **v).id for v in variants]
    assert len(set(ids)) == len(ids)
    assert len({CompletionCache(tmp_path / "c", i).path for i in ids}) == len(ids)
    assert ids[0] == f"hf:{folder}@sha256:{hf.weights_digest(folder)};dtype=float32,max_length=2048,batching=default"
    (folder / "model.safetensors").write_bytes(b"weights v2")
    assert hf.HFJudge(**base).id != ids[0]  # other weights in the same folder: another judge


@pytest.mark.parametrize("options", [{"batching": "fast"}, {"generation": "paged"}, {"batch_size": 0},
                                     {"batching": "official", "generation": "continuous"},
                                     {"batching": "official", "batch_size": 4},
                                     {"trust_remote_code": "maybe"}])
def test_bad_options_are_one_line_errors(options):
    with pytest.raises(HarnessError) as info:
        hf.HFJudge(**options)
    assert "\n" not in str(info.value)


def test_max_new_tokens_caps_every_budget_below_what_max_length_leaves():
    rows = [[1] * 10, [1] * 40]
    assert hf.HFJudge(max_length=64).budgets(rows) == [54, 24]
    assert hf.HFJudge(max_length=64, max_new_tokens=30).budgets(rows) == [30, 24]
    with pytest.raises(HarnessError, match="max_new_tokens=0"):
        hf.HFJudge(max_new_tokens=0)


def test_trust_remote_code_no_is_false():
    assert hf.HFJudge(trust_remote_code="no").trust_remote_code is False


class OfficialRecorder:
    """A judge in official batching mode: records the batches it is sent."""

    id = "official-recorder"
    batching = "official"

    def __init__(self):
        self.batches: list[list[str]] = []

    def complete(self, prompts):
        self.batches.append(list(prompts))
        return [f"[Matched Findings]:\n{len(prompts)}. x" for _ in prompts]


def test_official_mode_sends_the_official_batches_with_duplicates_and_caches_per_batch(tmp_path):
    calls = [[f"p{i}" for i in range(10)], ["p0"], ["p0"], ["p1", "p1"]]
    judge = OfficialRecorder()
    scorer = GreenScorer(judge, cache_dir=tmp_path, progress=False)
    out = scorer.complete_calls(calls)
    assert official_batches(calls) == [calls[0][:8], calls[0][8:], ["p0"], ["p0"], ["p1", "p1"]]
    assert judge.batches == [calls[0][:8], calls[0][8:], ["p0"], ["p1", "p1"]]  # an identical batch: sent once
    assert [len(c) for c in out] == [10, 1, 1, 2] and out[0][0] == "[Matched Findings]:\n8. x"
    assert out[1] == ["[Matched Findings]:\n1. x"]  # the same prompt in another batch: its own completion
    assert scorer.stats.to_json() == {"prompts": 14, "distinct": 13, "cached": 0, "sent": 13}
    again = OfficialRecorder()
    assert GreenScorer(again, cache_dir=tmp_path, progress=False).complete_calls(calls) == out
    assert again.batches == []
