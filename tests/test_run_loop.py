"""The run loop's pieces: resumable prediction store, batching, settings."""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError
from harness.predictions import PredictionStore
from harness.runner import Distributed, batches, parse_settings
from harness.task import Prediction, Request


def _prediction(key: str) -> Prediction:
    return Prediction(key, key.split("/")[0], "global", None, "q", "a", "a")


def test_store_appends_and_reloads(tmp_path):
    store = PredictionStore(tmp_path / "p.jsonl")
    store.append([_prediction("c1/global/0"), _prediction("c2/global/0")])
    store.append([_prediction("c1/global/0")])  # already there: not written twice
    again = PredictionStore(tmp_path / "p.jsonl")
    assert again.done == {"c1/global/0", "c2/global/0"}
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 2


def test_store_drops_a_torn_last_line_and_appends_cleanly(tmp_path):
    path = tmp_path / "p.jsonl"
    PredictionStore(path).append([_prediction("c1/global/0")])
    with path.open("a") as handle:
        handle.write('{"key": "c2/glo')  # the process died mid-write
    store = PredictionStore(path)
    assert store.done == {"c1/global/0"}
    store.append([_prediction("c3/global/0")])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["key"] for line in lines] == ["c1/global/0", "c3/global/0"]


def _request(key: str, **decoding) -> Request:
    return Request(key, key, "global", None, "q", "p", decoding=decoding)


def test_batches_split_on_size_and_on_decoding_options():
    reqs = [_request("a", n=1), _request("b", n=1), _request("c", n=1), _request("d", n=2)]
    assert [[r.key for r in b] for b in batches(reqs, 2)] == [["a", "b"], ["c"], ["d"]]


def test_shards_are_disjoint_and_complete():
    reqs = [_request(str(i)) for i in range(7)]
    shards = [Distributed(rank, 3).shard(reqs) for rank in range(3)]
    keys = [r.key for shard in shards for r in shard]
    assert sorted(keys) == sorted(r.key for r in reqs) and len(keys) == len(set(keys))


def test_settings_are_typed_and_malformed_ones_named():
    assert parse_settings(["max_new_tokens=8", "do_sample=false", "top_p=0.9", "style=chat"]) == {
        "max_new_tokens": 8, "do_sample": False, "top_p": 0.9, "style": "chat"}
    with pytest.raises(HarnessError, match="--set expects KEY=VALUE, got 'oops'"):
        parse_settings(["oops"])


class _Task:
    name = "toy"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: dict = {}

    def score(self, predictions, cases, *, judge=None):
        if self.fail:
            raise TypeError("boom")
        self.seen = {"judge": judge}
        return {"task": "toy", "n": len(predictions)}


def test_score_with_passes_cache_dir_only_when_accepted_and_names_a_failing_task(tmp_path):
    from harness.runner import score_with

    task = _Task()
    assert score_with(task, [], [], judge="j", cache_dir=tmp_path) == {"task": "toy", "n": 0}
    assert task.seen == {"judge": "j"}
    with pytest.raises(HarnessError, match=r"task 'toy' failed while scoring \(TypeError: boom\)"):
        score_with(_Task(fail=True), [], [], judge=None, cache_dir=tmp_path)


def test_unreadable_images_stop_the_run_or_are_skipped_and_recorded(tmp_path):
    from harness.generation import Generator
    from harness.recipe import Recipe

    recipe = Recipe(name="toy", encoder="e", projector="p", llm="l", input_size=(8, 16, 16))
    missing = Request("c1/global/0", "c1", "global", None, "q", "p", image=tmp_path / "c1.nii.gz")
    strict = Generator(None, None, recipe, "cpu", "float32")
    with pytest.raises(HarnessError, match=r"c1\.nii\.gz.*--on-bad-case skip"):
        strict._load_batch([missing])
    lenient = Generator(None, None, recipe, "cpu", "float32", on_bad_case="skip")
    assert lenient._load_batch([missing]) == ([], [])
    assert set(lenient.bad_cases) == {"c1"}
