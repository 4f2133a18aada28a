"""Bad inputs to `harness run` (issues 15 and 16): exit 2, one `error:` line naming the input, no traceback,
nothing written before changed; a full or read-only disk names the path and the rerun resumes."""

from __future__ import annotations

import errno
import json
import os
import pathlib
from pathlib import Path

import pytest
from badinput import assert_one_line_error, disk_full_after_fsyncs, run_cli, snapshot
from runfakes import FakeGenerator, cli

FIXTURE_PLUGINS = Path(__file__).resolve().parent / "fixtures" / "plugins"


BAD_OPTIONS = [
    (["--limit", "-1"], ["--limit", "-1"]),
    (["--limit", "0"], ["--limit", "'0'"]),
    (["--limit", "1.5"], ["--limit", "fraction"]),
    (["--limit", "ten"], ["--limit", "ten"]),
    (["--batch-size", "0"], ["--batch-size", "'0'"]),
    (["--batch-size", "-1"], ["--batch-size", "-1"]),
    (["--batch-size", "many"], ["--batch-size", "auto"]),
    (["--set", "bogus=1"], ["bogus", "max_new_tokens", "llm_options.KEY"]),
    (["--set", "max_new_tokens=abc"], ["max_new_tokens=abc", "integer"]),
    (["--set", "max_new_tokens=-3"], ["max_new_tokens=-3", "at least 1"]),
    (["--set", "seed=abc"], ["seed=abc"]),
    (["--set", "temperature=abc"], ["temperature=abc"]),
    (["--set", "temperature=0"], ["temperature=0", "greater than 0"]),
    (["--set", "top_p=2"], ["top_p=2", "at most 1"]),
    (["--set", "do_sample=maybe"], ["do_sample=maybe", "not a boolean"]),
    (["--set", "decoding=sampled"], ["decoding=sampled", "greedy, reference"]),
    (["--set", "on_bad_case=raise"], ["on_bad_case=raise", "error, skip"]),
    (["--set", "llm_options=x"], ["llm_options", "unknown setting 'llm_options'"]),
    (["--set", "oops"], ["--set", "KEY=VALUE", "oops"]),
    (["--on-bad-case", "raise"], ["--on-bad-case", "raise"]),
    (["--device", "nonsense"], ["--device nonsense"]),
    (["--seed", "-2"], ["--seed"]),
    (["--seed", str(2**64)], ["--seed", str(2**64)]),
    (["--set", f"seed={2**64}"], [f"seed={2**64}", f"at most {2**64 - 1}"]),
    (["--task", "flare_vqa,flare_vqa"], ["--task", "each once"]),
    (["--task", "flare_vqq"], ["flare_vqq"]),
    (["--task", "flare_report", "--judge", "lexical", "--judge-option", "bogus=1"], ["--judge-option", "lexical"]),
    (["--judge-option", "novalue"], ["--judge-option", "KEY=VALUE"]),
]


@pytest.mark.parametrize(("args", "names"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_options_are_one_line(capsys, demo_json, fakes, tmp_path, args, names):
    out = tmp_path / "out"
    base = ["run", "--model", "fake-a", "--data", str(demo_json), "--out", str(out), "--quiet"]
    if "--task" not in args:
        base += ["--task", "flare_vqa"]
    assert_one_line_error(cli(capsys, *base, *args), *names)
    assert not out.exists() or snapshot(out) == {}, "a refused run wrote files"
    assert not any(g.generated for g in fakes.values())


def test_an_unknown_model_is_one_line_and_creates_no_folder(capsys, demo_json, tmp_path):
    out = tmp_path / "out"
    result = cli(capsys, "run", "--model", "med3dvml-demo", "--task", "flare_vqa", "--data", str(demo_json),
                 "--out", str(out))
    assert_one_line_error(result, "med3dvml-demo", "did you mean")
    assert not out.exists()


def test_cuda_on_a_cpu_only_torch_is_one_line(capsys, demo_json, fakes, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = cli(capsys, "run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json),
                 "--out", str(tmp_path / "out"), "--device", "cuda")
    assert_one_line_error(result, "--device cuda", "--device cpu")


def test_out_that_is_a_file_is_one_line(capsys, demo_json, fakes, tmp_path):
    target = tmp_path / "taken.txt"
    target.write_text("mine\n")
    result = cli(capsys, "run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json),
                 "--out", str(target))
    assert_one_line_error(result, str(target), "existing file")
    assert target.read_text() == "mine\n"


def test_a_corrupt_line_in_the_middle_of_predictions_is_named_and_nothing_is_cut(capsys, demo_json, fakes,
                                                                                 tmp_path):
    out = tmp_path / "out"
    args = ["run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out)]
    assert cli(capsys, *args).returncode == 0
    predictions = out / "predictions.jsonl"
    lines = predictions.read_text().splitlines(keepends=True)
    assert len(lines) >= 3
    lines[1] = '{"key": "broken\n'
    predictions.write_text("".join(lines))
    before = snapshot(out)
    assert_one_line_error(cli(capsys, *args), f"{predictions}:2", "--overwrite")
    assert snapshot(out) == before


def _full_disk(monkeypatch, under: Path, *, after: int = 0, code: int = errno.ENOSPC) -> None:
    """Opening a file for writing under ``under`` fails with ``code`` after ``after`` successful opens."""
    real_open = pathlib.Path.open
    opened = {"n": 0}

    def open_(self, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+") and Path(under) in Path(self).absolute().parents:
            if opened["n"] >= after:
                raise OSError(code, os.strerror(code), str(self))
            opened["n"] += 1
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", open_)


def test_a_full_disk_during_run_names_the_path_keeps_what_was_written_and_resumes(capsys, demo_json, fakes,
                                                                                  tmp_path, monkeypatch):
    out = tmp_path / "out"
    args = ["run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out)]
    with monkeypatch.context() as patch:
        _full_disk(patch, out, after=3)  # run.json, then two predictions
        line = assert_one_line_error(cli(capsys, *args), "No space left on device", "rerun")
    assert str(out) in line
    written = [json.loads(text)["key"] for text in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(written) == 2 and not (out / "result.json").exists()

    assert cli(capsys, *args).returncode == 0
    keys = [json.loads(text)["key"] for text in (out / "predictions.jsonl").read_text().splitlines()]
    assert keys[:2] == written and len(keys) == len(set(keys)) == len(fakes["fake-a"].generated)


def test_a_read_only_output_folder_is_one_line(capsys, demo_json, fakes, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _full_disk(monkeypatch, out, code=errno.EROFS)
    result = cli(capsys, "run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json),
                 "--out", str(out))
    assert_one_line_error(result, str(out), "Read-only file system", "writable folder (--out")


def test_a_full_disk_during_score_names_the_judge_cache(capsys, tmp_path, monkeypatch):
    predictions = tmp_path / "reports.csv"
    predictions.write_text('name,gt,generated\ncase1.nii.gz,"liver: normal.","liver: normal."\n')
    cache = tmp_path / "cache"
    _full_disk(monkeypatch, cache)
    result = cli(capsys, "score", "flare_report", "--predictions", str(predictions), "--judge", "lexical",
                 "--cache-dir", str(cache))
    assert_one_line_error(result, str(cache), "No space left on device")


def test_a_duplicate_task_name_from_two_plugins_is_one_line_in_strict_mode(tmp_path):
    result = run_cli("-p", "dup_task_plugin", "run", "--model", "med3dvlm-demo", "--task", "flare_vqa",
                     "--data", "demo", "--out", str(tmp_path / "out"),
                     env={"PYTHONPATH": str(FIXTURE_PLUGINS), "HARNESS_STRICT_PLUGINS": "1"})
    assert_one_line_error(result, "flare_vqa", "registered twice", "dup_task_plugin")
    assert not (tmp_path / "out").exists()


def test_a_bad_limit_is_one_line_from_the_console(tmp_path):
    result = run_cli("run", "--model", "med3dvlm-demo", "--task", "flare_vqa", "--data", "demo", "--limit", "-1",
                     "--out", str(tmp_path / "out"))
    assert_one_line_error(result, "--limit", "-1")


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 KiB tmpfs (two pages), remounted larger by calling the returned function; skipped where
    mounting is not permitted."""
    import shutil
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(mount)],
                                                   capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mount, lambda: subprocess.run(["mount", "-o", "remount,size=1m", str(mount)], check=True)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_really_full_disk_keeps_the_predictions_and_the_rerun_finishes(capsys, demo_json, fakes, small_disk):
    mount, free_space = small_disk
    out = mount / "out"
    args = ["run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out)]
    line = assert_one_line_error(cli(capsys, *args), "No space left on device", "rerun")
    assert str(out) in line and ".tmp" not in line, line
    written = (out / "predictions.jsonl").read_text().splitlines()
    assert written and all(json.loads(text)["key"] for text in written)
    generated = len(fakes["fake-a"].generated)

    free_space()
    assert cli(capsys, *args).returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert len(fakes["fake-a"].generated) == generated + result["scores"]["n_global"] + result["scores"]["n_local"] \
        - len(written)
    keys = [json.loads(text)["key"] for text in (out / "predictions.jsonl").read_text().splitlines()]
    assert keys[:len(written)] == [json.loads(text)["key"] for text in written] and len(keys) == len(set(keys))


def test_a_full_disk_on_a_rerun_leaves_the_finished_files_as_they_were(capsys, demo_json, fakes, tmp_path,
                                                                         monkeypatch):
    out = tmp_path / "out"
    args = ["run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out)]
    assert cli(capsys, *args).returncode == 0
    before = snapshot(out)
    with monkeypatch.context() as patch:
        _full_disk(patch, out)
        assert_one_line_error(cli(capsys, *args), str(out), "No space left on device")
    assert snapshot(out) == before
    from harness.results import read_result

    read_result(out / "result.json")


def test_a_duplicate_task_name_is_a_warning_and_the_run_uses_the_first_registration(capsys, demo_json, fakes,
                                                                                     tmp_path, monkeypatch):
    from harness import plugins

    monkeypatch.syspath_prepend(str(FIXTURE_PLUGINS))
    monkeypatch.delenv("HARNESS_STRICT_PLUGINS", raising=False)
    try:
        result = cli(capsys, "-p", "dup_task_plugin", "run", "--model", "fake-a", "--task", "flare_vqa",
                     "--data", str(demo_json), "--out", str(tmp_path / "out"), "--quiet")
    finally:
        plugins.configure()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "error:" not in result.stderr
    assert all("dup_task_plugin" in line for line in result.stderr.splitlines()), result.stderr
    assert json.loads((tmp_path / "out" / "result.json").read_text())["task"]["name"] == "flare_vqa"


def test_a_full_disk_while_predictions_are_flushed_names_the_file_and_the_rerun_resumes(capsys, demo_json, fakes,
                                                                                          tmp_path, monkeypatch):
    """fsync (or write) on a full disk raises OSError without a file name: the line still names predictions.jsonl."""
    out = tmp_path / "out"
    args = ["run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out),
            "--batch-size", "1"]
    with disk_full_after_fsyncs(monkeypatch, 2):
        line = assert_one_line_error(cli(capsys, *args), str(out / "predictions.jsonl"), "No space left on device")
    kept = (out / "predictions.jsonl").read_text().splitlines()
    assert kept and all(json.loads(text)["key"] for text in kept)
    assert "a file" not in line

    assert cli(capsys, *args).returncode == 0
    keys = [json.loads(text)["key"] for text in (out / "predictions.jsonl").read_text().splitlines()]
    assert keys[:len(kept)] == [json.loads(text)["key"] for text in kept] and len(keys) == len(set(keys))


def test_a_second_run_into_a_folder_being_written_is_refused_and_the_first_finishes(capsys, demo_json, fakes,
                                                                                    tmp_path):
    """While the first run is generating, a second `harness run` into its --out is one line and writes nothing;
    the first then completes with every prediction exactly once."""
    out = tmp_path / "out"
    args = ["run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out),
            "--batch-size", "1", "--quiet"]
    first = fakes.setdefault("fake-a", FakeGenerator("fake-a"))
    real_generate, seen = first.generate_all, {}

    def generate_all(task, requests, store, **kwargs):
        real_generate(task, requests[:2], store, **kwargs)
        seen["before"] = snapshot(out)
        seen["second"] = cli(capsys, *args)  # the same command, while the first holds the folder
        seen["after"] = snapshot(out)
        return real_generate(task, requests[2:], store, **kwargs)

    first.generate_all = generate_all
    assert cli(capsys, *args).returncode == 0
    assert_one_line_error(seen["second"], str(out), "another harness run")
    assert seen["after"] == seen["before"]
    keys = [json.loads(text)["key"] for text in (out / "predictions.jsonl").read_text().splitlines()]
    result = json.loads((out / "result.json").read_text())
    assert len(keys) == len(set(keys)) == len(first.generated) == result["scores"]["n_global"] \
        + result["scores"]["n_local"]


def test_the_default_hf_judge_that_cannot_load_stops_the_run_before_generation(capsys, demo_json, fakes, tmp_path,
                                                                             monkeypatch):
    """Issue 16: offline with no local GREEN model, the default judge is refused before any case is generated."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    result = cli(capsys, "run", "--model", "fake-a", "--task", "flare_report", "--data", str(demo_json), "--out",
                 str(out), "--quiet")
    assert_one_line_error(result, "GREEN judge", "--judge lexical")
    assert not fakes["fake-a"].generated
    assert not (out / "predictions.jsonl").exists()


BAD_MODELS = [
    ("", ["--model is empty", "harness list models"]),
    ("{tmp}/weights.bin", ["--model {tmp}/weights.bin", "is a file"]),
    ("./no-such-checkpoint", ["--model ./no-such-checkpoint", "no such checkpoint folder"]),
    ("~/no-such-checkpoint-xyz", ["--model ~/no-such-checkpoint-xyz", "no such checkpoint folder"]),
]


@pytest.mark.parametrize(("model", "words"), BAD_MODELS, ids=["empty", "a file", "relative", "home"])
def test_a_model_argument_that_is_no_checkpoint_is_one_line_and_creates_no_folder(capsys, demo_json, tmp_path, model,
                                                                                 words):
    """An empty --model used to load the current folder; a file or a missing path was called an unknown zoo name."""
    import harness
    from harness.errors import HarnessError

    (tmp_path / "weights.bin").write_bytes(b"\0" * 8)
    model = model.replace("{tmp}", str(tmp_path))
    words = [w.replace("{tmp}", str(tmp_path)) for w in words]
    out = tmp_path / "out"
    result = cli(capsys, "run", "--model", model, "--task", "flare_vqa", "--data", str(demo_json), "--out", str(out))
    assert_one_line_error(result, *words)
    assert not out.exists()
    with pytest.raises(HarnessError, match=words[-1]):
        harness.load_model(model)


def test_a_really_read_only_disk_is_one_line_and_the_finished_run_stays_as_it_was(capsys, demo_json, fakes,
                                                                                 tmp_path):
    """A tmpfs remounted read-only (tests run as root, so chmod would not bite): a finished --out and a new one."""
    import shutil
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                                                   capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        args = ["run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json), "--quiet"]
        assert cli(capsys, *args, "--out", str(mount / "done")).returncode == 0
        before = snapshot(mount / "done")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        for out in (mount / "done", mount / "new"):
            assert_one_line_error(cli(capsys, *args, "--out", str(out)), str(out), "Read-only file system",
                                  "writable folder")
        assert snapshot(mount / "done") == before and not (mount / "new").exists()
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
