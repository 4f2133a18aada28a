"""`harness run` end to end on CPU with the demo model and demo data, including a kill and a resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results import validate_result
from harness_plugins.tasks.flare.demo import generate_demo

pytestmark = pytest.mark.slow

HARNESS = [sys.executable, "-m", "harness"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory) -> Path:
    root = generate_demo(tmp_path_factory.mktemp("demo"), cases=6, seed=11)
    return root / "validation" / "val.json"


def _keys(path: Path) -> list[str]:
    return [json.loads(line)["key"] for line in path.read_text().splitlines()]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HARNESS, "run", "--model", "med3dvlm-demo", "--quiet", *args], env=ENV,
                          capture_output=True, text=True, timeout=900)


def test_vqa_killed_mid_run_resumes_with_every_request_once(demo_json, tmp_path):
    out = tmp_path / "vqa"
    args = ["--task", "flare_vqa", "--data", str(demo_json), "--out", str(out), "--batch-size", "1",
            "--set", "max_new_tokens=6"]
    process = subprocess.Popen([*HARNESS, "run", "--model", "med3dvlm-demo", "--quiet", *args], env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    predictions = out / "predictions.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if predictions.exists() and len(predictions.read_text().splitlines()) >= 1:
            break
        time.sleep(0.2)
    assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = _keys(predictions)
    assert partial and not (out / "result.json").exists()

    finished = _run(*args)
    assert finished.returncode == 0, finished.stderr
    keys = _keys(predictions)
    assert len(keys) == len(set(keys)), "a request was generated twice"
    assert keys[: len(partial)] == partial, "the resumed run rewrote earlier predictions"
    result = json.loads((out / "result.json").read_text())
    validate_result(result)
    scores = result["scores"]
    assert scores["n_global"] + scores["n_local"] == len(keys)
    assert 0.0 <= scores["global_accuracy"] <= 1.0 and 0.0 <= scores["local_accuracy"] <= 1.0


def test_report_runs_end_to_end_with_the_lexical_judge(demo_json, tmp_path):
    out = tmp_path / "report"
    finished = _run("--task", "flare_report", "--data", str(demo_json), "--out", str(out), "--limit", "2",
                    "--batch-size", "2", "--judge", "lexical", "--set", "max_new_tokens=12")
    assert finished.returncode == 0, finished.stderr
    assert "GREEN per organ" in finished.stdout
    result = json.loads((out / "result.json").read_text())
    validate_result(result)
    assert result["judge"] == result["scores"]["judge"] == "lexical-v1 (not GREEN-calibrated)"
    assert result["scores"]["n_cases"] == 2 and set(result["scores"]["per_case"]) == {
        json.loads(line)["case_id"] for line in (out / "predictions.jsonl").read_text().splitlines()}
    # rerunning into the same folder generates nothing and scores from the judge cache
    again = _run("--task", "flare_report", "--data", str(demo_json), "--out", str(out), "--limit", "2",
                 "--judge", "lexical", "--set", "max_new_tokens=12")
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "scores.json").read_text())["green"] == result["scores"]["green"]


def test_resuming_another_models_predictions_is_refused(demo_json, tmp_path):
    """Issue 14 item 1: the untrained model must not be credited with the trained model's predictions."""
    out = tmp_path / "fingerprint"
    args = ["--task", "flare_vqa", "--data", str(demo_json), "--out", str(out), "--limit", "1",
            "--set", "max_new_tokens=2"]
    assert _run(*args).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    untrained = subprocess.run([*HARNESS, "run", "--model", "med3dvlm-demo-untrained", "--quiet", *args], env=ENV,
                               capture_output=True, text=True, timeout=900)
    assert untrained.returncode == 2 and "Traceback" not in untrained.stderr
    error = [line for line in untrained.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "med3dvlm-demo-untrained" in error[0] and "--overwrite" in error[0]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    greedy_over_sampled = _run(*args, "--set", "decoding=reference")
    assert greedy_over_sampled.returncode == 2 and "decoding" in greedy_over_sampled.stderr


def test_unknown_model_is_one_line_with_a_suggestion(tmp_path):
    finished = subprocess.run([*HARNESS, "run", "--model", "med3dvml", "--task", "flare_vqa", "--data", "demo",
                               "--out", str(tmp_path)], env=ENV, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines()[-1].startswith("error: unknown model 'med3dvml': did you mean")


def test_two_ranks_under_torchrun_shard_then_merge(demo_json, tmp_path):
    out = tmp_path / "ranks"
    with socket.socket() as sock:  # torchrun's --master-port 0 hangs the gloo rendezvous: pick a free port
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    finished = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
         "--master-port", port, "-m", "harness", "run", "--model", "med3dvlm-demo", "--task", "flare_vqa",
         "--data", str(demo_json), "--out", str(out), "--limit", "2", "--quiet", "--set", "max_new_tokens=4"],
        env={**ENV, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    shards = [_keys(out / f"predictions.rank{rank}.jsonl") for rank in (0, 1)]
    assert shards[0] and shards[1] and not set(shards[0]) & set(shards[1])
    merged = _keys(out / "predictions.jsonl")
    assert sorted(merged) == sorted(shards[0] + shards[1])
    result = json.loads((out / "result.json").read_text())
    assert result["scores"]["n_global"] + result["scores"]["n_local"] == len(merged)
