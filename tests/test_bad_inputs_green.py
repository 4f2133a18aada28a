"""Bad inputs to `harness score` (judges, options, VQA rows, the judge cache): one line, exit 2, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from badinput import assert_one_line_error, run_cli, snapshot

from harness.scoring.judging import CompletionCache

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
REPORT_CSV = str(FIXTURES / "flare_report" / "generated.csv")
LEXICAL_ID = "lexical-v1 (not GREEN-calibrated)"


def _vqa_files(tmp_path: Path, scope: str, case_id: str) -> list[str]:
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps([{"case_id": f"{d}/amos_0001.nii.gz", "global_vqa": [
        {"question": "Which?", "answer": ["a"], "choices": ["a", "b"]}]} for d in ("x", "y")]))
    csv = tmp_path / "predictions.csv"
    csv.write_text(f"case_id,scope,question_id,question,prediction\n{case_id},{scope},,Which?,a\n")
    return ["--predictions", str(csv), "--ground-truth", str(truth)]


def _corrupt_cache(tmp_path: Path) -> Path:
    cache = CompletionCache(tmp_path / "cache", LEXICAL_ID)
    cache.add([("k1", "a")])
    cache.path.write_text(cache.path.read_text() + "{torn in the middle\n" + cache.path.read_text())
    return cache.path


CASES = {
    "trust_remote_code=maybe": (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf",
                                 "--judge-option", "trust_remote_code=maybe"], ["trust_remote_code", "maybe"]),
    "unknown judge option": (["flare_report", "--predictions", REPORT_CSV, "--judge", "lexical",
                              "--judge-option", "temperature=0"], ["temperature", "lexical"]),
    "max_length not a number": (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf",
                                 "--judge-option", "max_length=2k"], ["max_length", "2k"]),
    "missing local judge model": (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf",
                                   "--judge-option", "model={tmp}/no-such-model"],
                                  ["no-such-model", "--judge lexical"]),
    "judge device nonsense": (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf",
                               "--judge-option", "device=nonsense"], ["--judge-option device=nonsense", "cpu"]),
    "VQA scope Global": ("vqa:Global:x/amos_0001.nii.gz", ["Global", "scope"]),
    "VQA ambiguous case id": ("vqa:global:amos_0001.nii.gz", ["amos_0001.nii.gz", "x/amos_0001", "y/amos_0001"]),
    "corrupt judge cache": ("cache", ["line 2", "delete the file"]),
}


if not torch.cuda.is_available():
    CASES["judge device cuda without CUDA"] = (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf",
                                                "--judge-option", "device=cuda"],
                                               ["--judge-option device=cuda", "--judge-option device=cpu"])


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(name, tmp_path):
    args, names = CASES[name]
    if args == "cache":
        path = _corrupt_cache(tmp_path)
        args = ["flare_report", "--predictions", REPORT_CSV, "--judge", "lexical", "--cache-dir", str(path.parent)]
        names = [*names, path.name]
    elif isinstance(args, str):
        _, scope, case_id = args.split(":", 2)
        args = ["flare_vqa", *_vqa_files(tmp_path, scope, case_id)]
    else:
        args = [a.replace("{tmp}", str(tmp_path)) for a in args]
        args += ["--cache-dir", str(tmp_path / "cache")]
    before = snapshot(tmp_path)
    assert_one_line_error(run_cli("score", *args, env={"HARNESS_CACHE": str(tmp_path / "hc")}), *names)
    assert snapshot(tmp_path) == before


def test_local_separator_is_refused_for_harness_predictions(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text("")
    result = run_cli("score", "flare_vqa", "--predictions", str(path), "--ground-truth", str(path),
                     "--score-option", "local_separator=,")
    assert_one_line_error(result, "--score-option local_separator", str(path))
