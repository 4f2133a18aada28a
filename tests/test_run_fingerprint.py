"""The output folder of `harness run`: fingerprinted resume, case counts, per-scope decoding, summed time,
one writer at a time, the judge loaded before generation (issue 14 items 1, 3, 4; issue 16)."""

from __future__ import annotations

import json

import pytest
from badinput import assert_one_line_error, snapshot
from runfakes import FakeGenerator, cli

from harness import hookimpl
from harness.results import validate_result
from harness.runner import case_ids_sha256


def _run(capsys, demo_json, out, *extra, model="fake-a"):
    return cli(capsys, "run", "--model", model, "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out),
               "--quiet", *extra)


def test_resume_with_another_model_is_refused_and_overwrite_starts_again(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    assert _run(capsys, demo_json, out).returncode == 0
    before = snapshot(out)
    refused = _run(capsys, demo_json, out, model="fake-b")
    line = assert_one_line_error(refused, str(out), "model.name", "fake-a", "fake-b", "--overwrite")
    assert "another run" in line
    assert snapshot(out) == before, "a refused resume changed the folder"
    assert "fake-b" not in fakes or not fakes["fake-b"].generated

    again = _run(capsys, demo_json, out, "--overwrite", model="fake-b")
    assert again.returncode == 0, again.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["model"]["name"] == "fake-b"
    assert len(fakes["fake-b"].generated) == len(fakes["fake-a"].generated), "--overwrite must regenerate all"


def test_same_run_resumes_without_generating(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    assert _run(capsys, demo_json, out).returncode == 0
    first = list(fakes["fake-a"].generated)
    assert _run(capsys, demo_json, out).returncode == 0
    assert fakes["fake-a"].generated == first


def test_reference_decoding_over_greedy_predictions_is_refused(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    assert _run(capsys, demo_json, out).returncode == 0
    refused = _run(capsys, demo_json, out, "--set", "decoding=reference")
    assert_one_line_error(refused, str(out), "decoding.global", "--overwrite")


def test_other_cases_are_refused(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    assert _run(capsys, demo_json, out, "--limit", "1").returncode == 0
    assert_one_line_error(_run(capsys, demo_json, out, "--limit", "2"), "data.")


def test_predictions_without_a_fingerprint_are_refused(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "predictions.jsonl").write_text("")
    assert_one_line_error(_run(capsys, demo_json, out), "predictions.jsonl", "run.json", "--overwrite")


def test_result_records_cases_partial_and_per_scope_decoding(capsys, demo_json, fakes, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert _run(capsys, demo_json, full).returncode == 0
    assert _run(capsys, demo_json, part, "--limit", "0.5").returncode == 0  # a fraction, rounded up: 2 of 3
    complete = json.loads((full / "result.json").read_text())
    partial = json.loads((part / "result.json").read_text())
    for result in (complete, partial):
        validate_result(result)
    assert complete["data"]["partial"] is False and complete["data"]["n_cases"] == 3
    assert partial["data"]["partial"] is True and partial["data"]["n_cases"] == 2
    assert partial["data"]["n_cases_available"] == 3
    assert partial["data"]["sha256"] == complete["data"]["sha256"], "the records file is the same"
    cases = {json.loads(line)["case_id"] for line in (part / "predictions.jsonl").read_text().splitlines()}
    assert partial["data"]["case_ids_sha256"] == case_ids_sha256(sorted(cases)) != complete["data"]["case_ids_sha256"]
    assert complete["decoding"] == {
        "global": {"strategy": "greedy", "do_sample": False, "max_new_tokens": 128},
        "local": {"strategy": "greedy", "do_sample": False, "max_new_tokens": 64},
    }


def test_skipped_bad_cases_make_a_partial_result(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    first_case = json.loads(demo_json.read_text())[0]["case_id"]
    fakes["fake-a"] = FakeGenerator("fake-a")
    fakes["fake-a"].unreadable = {first_case}
    assert _run(capsys, demo_json, out, "--on-bad-case", "skip").returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert result["bad_cases"] == [[first_case, f"{first_case}: unreadable image"]]
    assert result["data"]["n_cases"] == 2 and result["data"]["partial"] is True
    assert result["data"]["n_cases_available"] == 3


def test_sampled_decoding_records_the_seed(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    assert _run(capsys, demo_json, out, "--set", "decoding=reference", "--seed", "7").returncode == 0
    decoding = json.loads((out / "result.json").read_text())["decoding"]
    assert decoding["global"]["strategy"] == "sampled" and decoding["global"]["seed"] == 7
    assert decoding["local"]["top_p"] == 0.9


def test_wall_time_is_summed_over_invocations(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    fakes["fake-a"] = FakeGenerator("fake-a", fail_after=2)
    interrupted = _run(capsys, demo_json, out)
    assert interrupted.returncode == 130 and not (out / "result.json").exists()
    fakes["fake-a"].fail_after = None
    assert _run(capsys, demo_json, out).returncode == 0
    invocations = json.loads((out / "run.json").read_text())["invocations"]
    assert len(invocations) == 2
    total = json.loads((out / "result.json").read_text())["provenance"]["wall_time_s"]
    assert total == pytest.approx(sum(i["wall_time_s"] for i in invocations), abs=1e-3)
    keys = [json.loads(line)["key"] for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)) == len(fakes["fake-a"].generated)


def test_a_second_writer_is_refused(capsys, demo_json, fakes, tmp_path):
    from filelock import FileLock

    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / ".harness.lock"):
        refused = _run(capsys, demo_json, out)
    assert_one_line_error(refused, str(out), "another harness run")
    assert not (out / "predictions.jsonl").exists()
    assert _run(capsys, demo_json, out).returncode == 0, "the lock is free again"


class _Judge:
    id = "broken-judge"

    def load(self) -> None:
        from harness.errors import HarnessError

        raise HarnessError("judge 'broken' cannot load its model (offline); pass --judge lexical")

    def complete(self, prompts):  # pragma: no cover - never reached
        return ["" for _ in prompts]


class _JudgePlugin:
    @hookimpl
    def register_judges(self, register):
        register("broken", _Judge, description="always fails to load")


def test_the_judge_loads_before_any_generation(capsys, demo_json, fakes, tmp_path):
    from harness import plugins

    with plugins.temporary_plugin(_JudgePlugin(), "broken-judge"):
        result = cli(capsys, "run", "--model", "fake-a", "--task", "flare_report", "--data", str(demo_json),
                     "--out", str(tmp_path / "out"), "--judge", "broken", "--quiet")
    assert_one_line_error(result, "judge 'broken'")
    assert not fakes["fake-a"].generated


def test_several_tasks_load_the_model_once_into_subfolders(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    result = cli(capsys, "run", "--model", "fake-a", "--tasks", "flare_vqa,flare_report", "--data", str(demo_json),
                 "--out", str(out), "--judge", "lexical", "--quiet", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert sorted(payload) == ["flare_report", "flare_vqa"]
    assert payload["flare_report"]["scores"]["n_cases"] == 3
    assert (out / "flare_vqa" / "result.json").is_file() and (out / "flare_report" / "result.json").is_file()
    assert list(fakes) == ["fake-a"]


def test_several_tasks_check_every_task_before_the_model_loads(capsys, demo_json, fakes, tmp_path):
    result = cli(capsys, "run", "--model", "fake-a", "--tasks", "flare_vqa,flare_reprot", "--data", str(demo_json),
                 "--out", str(tmp_path / "out"), "--quiet")
    assert_one_line_error(result, "flare_reprot")
    assert not fakes


def test_json_prints_the_result_alone(capsys, demo_json, fakes, tmp_path):
    out = tmp_path / "out"
    result = _run(capsys, demo_json, out, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads((out / "result.json").read_text())


def test_another_zoo_model_is_refused_before_it_loads(capsys, demo_json, monkeypatch, tmp_path):
    import harness.runner

    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"fingerprint": {"model": {"name": "med3dvlm-demo"}}, "invocations": []}))
    monkeypatch.setattr(harness.runner, "load_generator", lambda config: pytest.fail("the model was loaded"))
    refused = cli(capsys, "run", "--model", "med3dvlm-demo-untrained", "--task", "flare_vqa", "--data",
                  str(demo_json), "--out", str(out))
    assert_one_line_error(refused, "med3dvlm-demo-untrained", "--overwrite")
