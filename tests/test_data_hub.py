"""Issue 13's done-when: the demo set in the published layout, as a cached Hub snapshot, used offline through
the Hub id by `data check`, `run`, `finetune` and `preprocess` (FLARE 2026 names, and FLARE 2025's with a space)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from badinput import run_cli
from hubcache import fake_hub_dataset

pytestmark = pytest.mark.slow

TRAINING_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "training"
LAYOUTS = [("FLARE-MedFM/FLARE26-MLLM-3D", "flare2026", "CT-RATE-Tr.json"),
           ("FLARE-MedFM/FLARE-Task5-MLLM-3D", "flare2025", "CT-RATE-Tr .json")]


@pytest.fixture(scope="module", params=LAYOUTS, ids=[layout for _, layout, _ in LAYOUTS])
def hub(request, tmp_path_factory: pytest.TempPathFactory) -> dict:
    repo_id, layout, rate_file = request.param
    root = tmp_path_factory.mktemp(layout)
    snapshot = fake_hub_dataset(root / "hf", repo_id, layout=layout)
    env = {"HF_HUB_CACHE": str(root / "hf"), "HF_HUB_OFFLINE": "1", "HARNESS_CACHE": str(root / "cache")}
    return {"repo_id": repo_id, "rate_file": rate_file, "snapshot": snapshot, "root": root, "env": env}


def test_data_check_through_the_hub_id(hub: dict) -> None:
    result = run_cli("data", "check", hub["repo_id"], "--split", "train", env=hub["env"])
    assert result.returncode == 0, result.stderr
    assert f"revision {hub['snapshot'].name}" in result.stdout
    assert "4 cases (2 abdomen, 2 chest), 0 missing" in result.stdout
    everything = run_cli("data", "check", hub["repo_id"], env=hub["env"])
    assert everything.returncode == 0 and "6 cases" in everything.stdout, everything.stderr


def test_run_on_the_validation_split_records_split_and_data(hub: dict) -> None:
    out = hub["root"] / "run"
    result = run_cli("run", "--model", "med3dvlm-demo", "--task", "flare_vqa", "--data", hub["repo_id"], "--split",
                     "validation", "--limit", "1", "--set", "max_new_tokens=2", "--out", str(out), "--quiet",
                     env=hub["env"])
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "result.json").read_text())["data"]
    assert data["split"] == "validation" and data["n_cases"] == 1


def test_finetune_on_the_train_split(hub: dict) -> None:
    sys.path.insert(0, str(TRAINING_FIXTURE))
    saved = os.environ.get("TINY_VLM_DIR")
    os.environ["TINY_VLM_DIR"] = str(hub["root"] / "tokenizer")
    try:
        import tiny_vlm_plugin

        tiny_vlm_plugin.ensure_tokenizer()
    finally:
        sys.path.remove(str(TRAINING_FIXTURE))
        if saved is None:
            os.environ.pop("TINY_VLM_DIR")
        else:
            os.environ["TINY_VLM_DIR"] = saved
    env = {**hub["env"], "HARNESS_PLUGINS": "tiny_vlm_plugin", "TINY_VLM_DIR": str(hub["root"] / "tokenizer"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TRAINING_FIXTURE), os.environ.get("PYTHONPATH")]))}
    out = hub["root"] / "ft"
    result = run_cli("finetune", "--model", "tiny-vlm", "--task", "all", "--data", hub["repo_id"], "--split", "train",
                     "--max-steps", "2", "--batch-size", "2", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert (out / "model.safetensors").is_file() or (out / "adapter_model.safetensors").is_file()


def test_preprocess_the_train_split_into_the_same_layout(hub: dict) -> None:
    out = hub["root"] / "processed"
    args = ["preprocess", "--data", hub["repo_id"], "--split", "train", "--out", str(out), "--size", "8", "16", "16"]
    result = run_cli(*args, env=hub["env"])
    assert result.returncode == 0, result.stderr
    assert (out / "train" / "CT-AMOS-Tr.json").is_file() and (out / "train" / hub["rate_file"]).is_file()
    assert len(list((out / "train" / "CT-AMOS-1290").glob("*.npy"))) == 2
    assert len(list((out / "train" / "CT-RATE-2000").glob("*.npy"))) == 2
    check = run_cli("data", "check", str(out), "--split", "train", env=hub["env"])
    assert check.returncode == 0 and "4 cases (2 abdomen, 2 chest), 0 missing" in check.stdout, check.stderr
    again = run_cli(*args, env=hub["env"])  # resumable: nothing left to do
    assert again.returncode == 0, again.stderr
