"""`harness run` command-line habits: the LLM path override reaches the loader, -q/-v and library noise."""

from __future__ import annotations

import json
import warnings

from runfakes import FakeGenerator, cli, install_fakes

from harness.cli.main import configure_output


def test_the_llm_path_override_reaches_the_model_loader(capsys, demo_json, monkeypatch, tmp_path):
    fakes = install_fakes(monkeypatch)
    result = cli(capsys, "run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json),
                 "--out", str(tmp_path / "out"), "--set", "llm_options.model_id=/models/qwen", "--seed", "3",
                 "--batch-size", "auto", "--limit", "1")
    assert result.returncode == 0, result.stderr
    config = fakes["fake-a"].configs[0]
    assert config.llm_options == {"model_id": "/models/qwen"}
    assert (config.seed, config.batch_size, config.limit) == (3, "auto", 1)


def test_known_library_notices_are_hidden_unless_verbose(monkeypatch):
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY"):
        monkeypatch.delenv(name, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        configure_output(0, tty=False)
        warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
        warnings.warn("something else", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something else"]
    import os

    assert os.environ["TQDM_DISABLE"] == "1", "no progress bars off a terminal"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        configure_output(1, tty=True)
        warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
    assert len(caught) == 1


def test_quiet_run_prints_no_progress_and_json_is_parseable(capsys, demo_json, monkeypatch, tmp_path):
    import json

    install_fakes(monkeypatch)
    result = cli(capsys, "-q", "run", "--model", "fake-a", "--task", "flare_vqa", "--data", str(demo_json),
                 "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scores"]["task"] == "flare_vqa"
    assert result.stderr == ""


def test_run_and_score_share_one_judge_cache_and_judge_options(capsys, demo_json, monkeypatch, tmp_path):
    """The judge cache is $HARNESS_CACHE/judge for both commands (not inside --out), so scoring a run's
    predictions again costs no judge call; --cache-dir moves it for both."""
    install_fakes(monkeypatch)["fake-a"] = FakeGenerator("fake-a", answer="liver: The liver is normal in size.")
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    ran = cli(capsys, "run", "--model", "fake-a", "--task", "flare_report", "--data", str(demo_json), "--out",
              str(out), "--judge", "lexical", "--json")
    assert ran.returncode == 0, ran.stderr
    assert list((tmp_path / "cache" / "judge").glob("*.jsonl")) and not (out / "judge_cache").exists()
    sent = json.loads(ran.stdout)["scores"]["judge_calls"]["sent"]
    assert sent > 0
    scored = cli(capsys, "score", "flare_report", "--predictions", str(out / "predictions.jsonl"),
                 "--ground-truth", str(demo_json), "--judge", "lexical", "--json")
    assert scored.returncode == 0, scored.stderr
    again = json.loads(scored.stdout)
    assert again["judge_calls"]["sent"] == 0 and again["green"] == json.loads(ran.stdout)["scores"]["green"]
    moved = cli(capsys, "run", "--model", "fake-a", "--task", "flare_report", "--data", str(demo_json), "--out",
                str(tmp_path / "out2"), "--judge", "lexical", "--cache-dir", str(tmp_path / "elsewhere"), "--json")
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["scores"]["judge_calls"]["sent"] == sent, "a new cache starts empty"
    assert list((tmp_path / "elsewhere").glob("*.jsonl"))
