"""Defects found by running the commands of README.md and docs/*.md as a new user, each pinned by a test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from badinput import assert_one_line_error

from harness.cli.main import main
from harness_plugins.tasks.flare.demo import generate_demo


def _cli(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.mark.parametrize("missing", ["records", "images"])
def test_preprocess_json_with_a_missing_input_leaves_no_out_folder(missing: str, tmp_path: Path, capsys) -> None:
    # docs/data.md: harness preprocess --json val.json --images imagesVal/ --out processed/
    root = generate_demo(tmp_path / "demo", cases=3, seed=1)
    records = tmp_path / "val.json" if missing == "records" else root / "validation" / "val.json"
    images = tmp_path / "imagesVal" if missing == "images" else root / "validation" / "images"
    out = tmp_path / "processed"
    result = _cli(capsys, "preprocess", "--json", str(records), "--images", str(images), "--out", str(out))
    assert_one_line_error(result, str(records if missing == "records" else images))
    assert not out.exists()


def test_preprocess_shows_no_progress_bar_off_a_terminal(tmp_path: Path, capsys) -> None:
    root = generate_demo(tmp_path / "demo", cases=3, seed=1)
    result = _cli(capsys, "preprocess", "--data", str(root), "--split", "validation", "--out", str(tmp_path / "p"),
                  "--size", "4", "8", "8")
    assert result.returncode == 0, result.stderr
    assert "case/s" not in result.stderr and "%|" not in result.stderr
    assert "processed records:" in result.stdout


def test_a_run_that_fails_before_it_starts_leaves_no_new_out_folder(tmp_path: Path, capsys) -> None:
    # README: `harness run --model med3dvlm --task flare_report --data flare2025` offline fails in one line;
    # it used to leave runs/med3dvlm-flare_report/.harness.lock behind
    out = tmp_path / "runs" / "new" / "report"
    result = _cli(capsys, "run", "--model", "med3dvlm-demo", "--task", "flare_vqa", "--data", str(tmp_path / "nope"),
                  "--out", str(out))
    assert_one_line_error(result, str(tmp_path / "nope"))
    assert not (tmp_path / "runs").exists()


def test_a_failed_start_keeps_an_out_folder_that_was_there(tmp_path: Path) -> None:
    from harness.rundir import RunDir

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError), RunDir(out):
        raise RuntimeError("the model would not load")
    assert out.is_dir()
    with pytest.raises(RuntimeError), RunDir(tmp_path / "fresh" / "run") as folder:
        (folder.path / "notes.txt").write_text("not the harness's")  # not only the lock: kept
        raise RuntimeError("boom")
    assert (tmp_path / "fresh" / "run" / "notes.txt").is_file()


def test_score_shows_no_judge_progress_bar_off_a_terminal(tmp_path: Path, capsys) -> None:
    # docs/scoring.md: harness score flare_report --predictions generated.csv --judge lexical --json
    generated = Path(__file__).parent / "fixtures" / "scoring" / "flare_report" / "generated.csv"
    result = _cli(capsys, "score", "flare_report", "--predictions", str(generated), "--judge", "lexical",
                  "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert "prompt/s" not in result.stderr and "%|" not in result.stderr
    assert "judge: lexical" in result.stdout


def test_cpu_bench_skips_the_judge_continuous_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    # docs/performance.md: `harness bench --device cpu` takes seconds; transformers' continuous batching spent
    # minutes setting up on a CPU before a single judged sample
    from harness.bench import judge
    from harness.bench.device import Device
    from harness.bench.workload import JudgeWorkload

    called = []

    def point(judge_cls, model, tokenizer, device, prompts, batch, new_tokens, name, variant):
        called.append(name)
        return {"variant": name, "batch": batch, "seconds_per_sample": 1.0}

    class Tokenizer:
        chat_template = None

        def apply_chat_template(self, *args, **kwargs):
            return [1, 2, 3]

    monkeypatch.setattr(judge, "_point", point)
    monkeypatch.setattr(judge, "green_template", lambda name: "")
    cpu = Device(name="cpu", description="cpu", memory_gib=None, bf16_peak_tflops=None)
    result = judge.measure_judge(None, Tokenizer(), cpu, ["p"] * 4, judge=JudgeWorkload("hf", {}, "llama", None),
                                 batches=(2,), new_tokens=4, calls_per_case=15, search_largest=False, largest_cap=4)
    assert "continuous" not in called and {"padded", "static"} <= set(called)
    skipped = [r for r in result["rows"] if r["variant"] == "continuous"]
    assert len(skipped) == 1 and skipped[0]["status"].startswith("skipped on CPU")


@pytest.mark.slow
def test_offline_published_weights_say_how_to_get_them_for_the_command_line(tmp_path: Path) -> None:
    # README: harness finetune --model med3dvlm ... offline; the fix named a Python call, not a CLI option
    from badinput import run_cli

    out = tmp_path / "ckpt"
    result = run_cli("finetune", "--model", "med3dvlm", "--task", "all", "--data", "demo", "--out", str(out),
                     "--max-steps", "1", env={"HARNESS_CACHE": str(tmp_path / "cache")})
    message = assert_one_line_error(result, "MagicXin/Med3DVLM-Qwen-2.5-7B-FLARE2025")
    assert "hf download MagicXin/Med3DVLM-Qwen-2.5-7B-FLARE2025" in message and "--model DIR" in message
    assert not out.exists()


@pytest.mark.parametrize("script", ["gpu_bench.sh", "gpu_check.sh"])
def test_gpu_scripts_without_torch_say_so_in_one_line(script: str, tmp_path: Path) -> None:
    # docs/performance.md: bash scripts/gpu_bench.sh with a python3 that has no torch printed a traceback, then
    # "no CUDA device visible"
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n")
    fake.chmod(0o755)
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(["bash", str(root / "scripts" / script)], env={"PATH": "/usr/bin:/bin", "PY": str(fake)},
                            capture_output=True, text=True, timeout=60, cwd=root)
    assert result.returncode == 1
    assert result.stderr.strip() == f"{script[:-3]}: {fake} cannot import torch: install torch (with CUDA) for it, " \
                                    f"or set PY=/path/to/python"


def test_the_hub_reason_is_its_first_sentence_not_a_cut_one() -> None:
    # the offline error read "... outgoing traffic has been disabled. To enable repo look-ups a); download ..."
    from harness.modeling.hub import unavailable

    exc = OSError("Cannot find an appropriate cached snapshot folder for the specified revision on the local disk "
                  "and outgoing traffic has been disabled. To enable repo look-ups and downloads online, set "
                  "'HF_HUB_OFFLINE=0' as environment variable.")
    message = str(unavailable("org/model", None, "pass a folder", exc))
    assert "has been disabled); pass a folder" in message and "To enable" not in message
    long = str(unavailable("org/model", None, "fix", OSError("x" * 300)))
    assert "x" * 157 + "...); fix" in long
