"""The run loop's pieces: resumable prediction store, batching, settings."""

from __future__ import annotations

import json

import pytest

from harness.distributed import Distributed
from harness.errors import HarnessError
from harness.generation import batches
from harness.predictions import PredictionStore
from harness.runoptions import apply_limit, auto_batch_size, config_from_settings
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


def test_settings_map_onto_typed_run_options():
    config = config_from_settings(["max_new_tokens=8", "do_sample=false", "style=chat", "decoding=reference",
                                   "on_bad_case=skip", "llm_options.model_id=/m"], model="m", task="t")
    assert config.decoding == {"max_new_tokens": 8, "do_sample": False}
    assert (config.style, config.reference_decoding, config.on_bad_case) == ("chat", True, "skip")
    assert config.llm_options == {"model_id": "/m"}
    with pytest.raises(HarnessError, match="--set expects KEY=VALUE, got 'oops'"):
        config_from_settings(["oops"], model="m", task="t")


@pytest.mark.parametrize(("limit", "kept"), [(None, 10), (3, 3), (20, 10), (0.25, 3), (1.0, 10), (0.01, 1)])
def test_limit_is_a_count_or_a_fraction_rounded_up(limit, kept):
    assert len(apply_limit(list(range(10)), limit)) == kept


@pytest.mark.parametrize("limit", [0, -1, 1.5, 0.0, True])
def test_out_of_range_limits_are_refused(limit):
    with pytest.raises(HarnessError, match="--limit"):
        apply_limit(list(range(10)), limit)


@pytest.mark.parametrize(("device", "free_gib", "size"), [("cpu", 100, 1), ("cuda", 1, 1), ("cuda", 5, 2),
                                                         ("cuda:0", 20, 8), ("cuda", 1000, 32)])
def test_auto_batch_size_heuristic(device, free_gib, size):
    assert auto_batch_size(device, free_bytes=int(free_gib * 2**30)) == size


def test_store_refuses_a_damaged_middle_line_and_keeps_the_file(tmp_path):
    path = tmp_path / "p.jsonl"
    PredictionStore(path).append([_prediction("c1/global/0"), _prediction("c2/global/0"), _prediction("c3/global/0")])
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "not json\n" + lines[2])
    before = path.read_bytes()
    with pytest.raises(HarnessError, match=r"p\.jsonl:2: not a prediction line"):
        PredictionStore(path)
    assert path.read_bytes() == before


def test_store_cuts_only_a_torn_last_line(tmp_path):
    path = tmp_path / "p.jsonl"
    PredictionStore(path).append([_prediction("c1/global/0")])
    with path.open("a") as handle:
        handle.write('{"key": "c2/global/0", "case_id": "c2"}')  # complete JSON, but no newline: still torn
    store = PredictionStore(path)
    assert store.done == {"c1/global/0"}
    store.append([_prediction("c2/global/0")])
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["c1/global/0", "c2/global/0"]


def test_atomic_json_writes_use_unique_temporary_files_and_clean_up(tmp_path, monkeypatch):
    import os

    from harness.atomic import write_json_atomic

    target = tmp_path / "result.json"
    write_json_atomic(target, {"v": 1})
    names = []
    real_replace = os.replace

    def failing_replace(src, dst):
        names.append(os.path.basename(src))
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", failing_replace)
    for _ in range(2):
        with pytest.raises(OSError):
            write_json_atomic(target, {"v": 2})
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(set(names)) == 2, "two writers must not share a temporary file"
    assert json.loads(target.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"], "a temporary file was left behind"


class _Task:
    name, version = "toy", "1"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: dict = {}

    def score(self, predictions, cases, *, judge=None, cache_dir=None):
        if self.fail:
            raise TypeError("boom")
        self.seen = {"judge": judge, "cache_dir": cache_dir}
        return {"task": "toy", "n": len(predictions)}


def test_score_with_passes_the_judge_and_its_cache_and_names_a_failing_task(tmp_path):
    from harness.runner import score_with

    task = _Task()
    assert score_with(task, [], [], judge="j", cache_dir=tmp_path) == {"task": "toy", "n": 0}
    assert task.seen == {"judge": "j", "cache_dir": tmp_path}
    with pytest.raises(HarnessError, match=r"task 'toy' failed while scoring \(TypeError: boom\)"):
        score_with(_Task(fail=True), [], [], judge=None, cache_dir=tmp_path)


def test_unreadable_images_stop_the_run_or_are_skipped_and_recorded(tmp_path):
    from harness.generation import Generator
    from harness.recipe import Recipe

    recipe = Recipe(name="toy", encoder="e", projector="p", llm="l", input_size=(8, 16, 16))
    missing = Request("c1/global/0", "c1", "global", None, "q", "p", image=tmp_path / "c1.nii.gz")
    store = PredictionStore(tmp_path / "p.jsonl")
    strict = Generator(None, None, recipe, "cpu", "float32")
    with pytest.raises(HarnessError, match=r"c1\.nii\.gz.*--on-bad-case skip"):
        strict.generate_all(_Task(), [missing], store, batch_size=1, progress=False)
    lenient = Generator(None, None, recipe, "cpu", "float32", on_bad_case="skip")
    skipped = lenient.generate_all(_Task(), [missing], store, batch_size=1, progress=False)
    assert list(skipped) == ["c1"] and "c1.nii.gz" in skipped["c1"]
    assert len(store) == 0 and not hasattr(lenient, "bad_cases"), "generation keeps no record of what it skipped"
    assert lenient.generate_all(_Task(), [], store, batch_size=1, progress=False) == {}, "a new call starts afresh"


def test_the_fingerprint_knows_weights_by_their_hash_not_their_path():
    from harness.runner import fingerprint

    class Task:
        name, version = "t", "1"

    data = {"name": "d", "split": "validation", "sha256": "a", "case_ids_sha256": "b", "n_cases": 1}
    by_path = [fingerprint({"name": "m", "weights": path, "sha256": "c" * 64}, Task(), "s", {}, data)
               for path in ("ckpt", "/abs/ckpt")]
    assert by_path[0] == by_path[1]
    by_hub = [fingerprint({"name": "m", "weights": hub, "revision": "main"}, Task(), "s", {}, data)
              for hub in ("org/a", "org/b")]
    assert by_hub[0] != by_hub[1]


def test_rank_zero_reports_the_cases_every_rank_skipped(tmp_path, monkeypatch):
    """Under torchrun each rank generates its shard; rank 0 merges the predictions and the skipped cases of all."""
    from runfakes import FakeGenerator

    import harness.runner as runner
    from harness.runner import _stores, generate_missing

    monkeypatch.setattr(runner, "_init_process_group", lambda: None)
    monkeypatch.setattr(runner, "_barrier", lambda: None)  # the ranks run one after the other here
    requests = [_request(f"c{i}/global/0") for i in range(4)]
    for request in requests:
        request.case_id = request.key.split("/")[0]

    class Parse:
        name = "toy"

        def parse(self, request, text):
            return text

    outcomes = {}
    for rank in (1, 0):
        generator = FakeGenerator()
        generator.unreadable = {f"c{rank}"}
        dist = Distributed(rank, 2)
        outcomes[rank] = generate_missing(Parse(), None, generator, requests, _stores(tmp_path, dist), dist, tmp_path,
                                          batch_size=1, progress=False)
    assert outcomes[1] is None, "only rank 0 scores"
    predictions, skipped = outcomes[0]
    assert sorted(skipped) == ["c0", "c1"]
    assert sorted(p.key for p in predictions) == ["c2/global/0", "c3/global/0"]
