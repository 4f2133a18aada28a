"""`harness finetune` on the command line: the dry run of the published recipe, and one-line user errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli.main import cli, main


def test_help_lists_the_options():
    result = CliRunner().invoke(cli, ["finetune", "--help"])
    assert result.exit_code == 0
    for option in ("--deepspeed", "--lora / --no-lora", "--merge-lora / --save-adapter", "--dry-run", "--resume",
                   "--lr", "--batch-size", "--grad-accum", "--save-steps", "--seed", "--set", "--init", "--name",
                   "--json"):
        assert option in result.output


@pytest.mark.parametrize("args, message", [
    (["--set", "lora_rank=4"], "unknown training setting 'lora_rank'"),
    (["--deepspeed", "zero9"], "DeepSpeed config 'zero9' not found"),
    (["--set", "trainable=vision"], "unknown trainable part"),
    (["--name", "../x"], "--name '../x'"),
])
def test_bad_settings_are_one_line_errors(args, message, tmp_path, capsys):
    code = main(["finetune", "--dry-run", "--model", "med3dvlm-demo", "--task", "all", "--data", "demo",
                 "--out", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.slow
def test_dry_run_prints_the_published_recipe_without_downloading(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(cli, ["finetune", "--dry-run", "--model", "med3dvlm", "--task", "all",
                                      "--data", "demo", "--out", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ZeRO-2" in out and "r 16, alpha 32, dropout 0.05" in out
    assert "AdamW lr 5e-05, cosine, warmup 0.03, weight decay 0" in out and "epochs 100" in out
    assert "8 x 1 x 1 = 8" in out and "max length" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["lora"][0] == "40,370,176"  # r 16 on q,k,v,o,gate,up,down of 28 Qwen2.5-7B layers
    assert lines["vision_tower"][0] == lines["vision_tower"][1]  # fully trained
    assert lines["embed_tokens"][0] == "543,570,944"  # 151666 x 3584, fully trained
    assert lines["llm"][0] == "0"
    assert not (tmp_path / "x").exists()  # nothing written
