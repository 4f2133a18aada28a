"""Remote code: off unless asked for on the command line; checkpoints and recipes cannot switch it on."""

from __future__ import annotations

import json

import pytest

from harness import trust
from harness.errors import HarnessError
from harness.modeling.hub import hub_errors


@pytest.fixture(autouse=True)
def remote_code_off():
    trust.allow_remote_code(False)
    yield
    trust.allow_remote_code(False)


def _folder(tmp_path, name: str, data: dict):
    (tmp_path / name).write_text(json.dumps(data))
    return tmp_path


def test_every_load_gets_an_explicit_false_by_default():
    assert trust.remote_code_kwargs() == {"trust_remote_code": False}
    trust.allow_remote_code()
    assert trust.remote_code_kwargs() == {"trust_remote_code": True}


@pytest.mark.parametrize("name,data,reason", [
    ("tokenizer_config.json", {"auto_map": {"AutoTokenizer": ["t.T", None]}}, "tokenizer_config.json has an auto_map"),
    ("config.json", {"auto_map": {"AutoConfig": "c.C"}}, "config.json has an auto_map"),
    ("config.json", {"llm_options": {"trust_remote_code": True}}, "sets llm_options.trust_remote_code"),
    ("config.json", {"recipe": {"llm_options": {"trust_remote_code": True}}}, "sets llm_options.trust_remote_code"),
])
def test_a_folder_asking_for_code_is_refused_unless_allowed(tmp_path, name, data, reason):
    folder = _folder(tmp_path, name, data)
    with pytest.raises(HarnessError, match=f"{reason}.*--trust-remote-code"):
        trust.check_folder(folder)
    trust.allow_remote_code()
    trust.check_folder(folder)


def test_plain_folders_pass(tmp_path):
    _folder(tmp_path, "config.json", {"model_type": "llama", "recipe": {"llm_options": {"trust_remote_code": False}}})
    (tmp_path / "tokenizer_config.json").write_text("[not an object]")
    trust.check_folder(tmp_path)


def test_hf_backend_refuses_the_option_and_a_local_folder_with_code(tmp_path):
    from harness_plugins.llms.hf import HFBackend

    with pytest.raises(HarnessError, match="llm_options.trust_remote_code is true.*--trust-remote-code"):
        HFBackend(model_id="org/custom", trust_remote_code=True)
    folder = _folder(tmp_path, "tokenizer_config.json", {"auto_map": {"AutoTokenizer": ["t.T", None]}})
    with pytest.raises(HarnessError, match="auto_map"):
        HFBackend(model_id=str(folder))
    trust.allow_remote_code()
    assert HFBackend(model_id="org/custom", trust_remote_code=True)._remote()["trust_remote_code"] is True


def test_transformers_refusal_of_custom_code_becomes_the_remote_code_line():
    with pytest.raises(HarnessError, match="org/custom asks to run its own code.*--trust-remote-code"), \
            hub_errors("org/custom", None, "hint"):
        raise ValueError("The repository org/custom contains custom code ... set trust_remote_code=True")


def test_tokenizer_with_auto_map_never_prompts(tmp_path):
    """transformers asks y/N on stdin when trust_remote_code is left out; the harness passes False, so it raises."""
    from transformers import AutoTokenizer

    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"auto_map": {"AutoTokenizer": ["custom_tok.CustomTokenizer", None]}, "tokenizer_class": "CustomTokenizer"}))
    (tmp_path / "custom_tok.py").write_text("raise SystemExit('remote code ran')\n")
    with pytest.raises(ValueError, match="trust_remote_code"):
        AutoTokenizer.from_pretrained(tmp_path, **trust.remote_code_kwargs())


def test_cli_flag_switches_it_on_for_the_process():
    from click.testing import CliRunner

    from harness.cli.main import cli

    result = CliRunner().invoke(cli, ["--trust-remote-code", "list", "llms"])
    assert result.exit_code == 0, result.output
    assert trust.remote_code_allowed()
