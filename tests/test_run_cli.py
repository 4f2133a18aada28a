"""`harness run` command-line habits: the LLM path override reaches the loader, -q/-v and library noise."""

from __future__ import annotations

import warnings

import pytest
from runfakes import cli, demo_records, install_fakes

from harness.cli.main import configure_output


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory):
    return demo_records(tmp_path_factory.mktemp("demo-cli"))


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
