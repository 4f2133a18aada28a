"""`--json` on `harness data check` and `harness finetune --dry-run`: one JSON object alone on stdout.

`finetune --json` after real training is in tests/test_training_run.py (it needs the tiny model plugin).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness_plugins.tasks.flare.demo import generate_demo


def test_data_check_json_reports_identity_counts_and_no_missing_image(tmp_path: Path, capsys) -> None:
    root = generate_demo(tmp_path / "demo", cases=3, seed=1)
    assert main(["data", "check", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["n_cases"] == 3 and report["missing_images"] == []
    assert report["data"]["n_cases"] == 3 and len(report["data"]["sha256"]) == 64
    assert sum(report["domains"].values()) == 3


def test_data_check_json_lists_missing_images_and_exits_1(tmp_path: Path, capsys) -> None:
    from harness_plugins.tasks.flare.loading import load_data

    root = generate_demo(tmp_path / "demo", cases=9, seed=1)
    image = load_data(str(root), split="validation").cases[-1].image  # not a file's first case: that one locates
    image.unlink()                                                     # the image folder, and is an error
    with pytest.raises(SystemExit) as exited:
        main(["data", "check", str(root), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1 and report["ok"] is False
    assert [m["image"] for m in report["missing_images"]] == [str(image)]


def test_finetune_dry_run_json_is_the_resolved_configuration(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "ft"
    assert main(["finetune", "--dry-run", "--json", "--model", "med3dvlm-demo", "--task", "all", "--data", "demo",
                 "--out", str(out), "--max-steps", "3"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True and plan["config"]["max_steps"] == 3 and plan["config"]["model"] == "med3dvlm-demo"
    parts = plan["parameters"]
    assert parts["all"]["total"] == sum(entry["total"] for part, entry in parts.items() if part != "all")
    assert not out.exists()
