"""The one typed `--set` parser of `run` and `finetune` (issue 14 item 5)."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.settings import RUN_SETTINGS, parse_settings, settings_of_dataclass


def test_run_settings_are_typed_and_nested_keys_collect():
    assert parse_settings(["max_new_tokens=8", "do_sample=no", "top_p=0.9", "style=chat", "seed=3",
                           "llm_options.model_id=/models/qwen", "llm_options.revision=abc"], RUN_SETTINGS) == {
        "max_new_tokens": 8, "do_sample": False, "top_p": 0.9, "style": "chat", "seed": 3,
        "llm_options": {"model_id": "/models/qwen", "revision": "abc"}}


@pytest.mark.parametrize(("pair", "message"), [
    ("bogus=1", r"--set bogus: unknown setting 'bogus'; settings are: cache_dir, .*llm_options\.KEY, max_new_tokens"),
    ("max_new_tokens=abc", r"max_new_tokens=abc: expected an integer"),
    ("max_new_tokens=0", r"max_new_tokens=0: must be at least 1"),
    ("max_new_tokens=1.5", r"expected an integer"),
    ("temperature=nan", r"temperature=nan: expected a finite number"),
    ("seed=-1", r"seed=-1: must be at least 0"),
    ("do_sample=2", r"is not a boolean"),
    ("llm_options.=x", r"unknown setting"),
    ("style", r"--set expects KEY=VALUE, got 'style'"),
])
def test_bad_run_settings_are_one_line(pair, message):
    with pytest.raises(HarnessError, match=message):
        parse_settings([pair], RUN_SETTINGS)


@pytest.mark.parametrize(("text", "value"), [("true", True), ("Yes", True), ("1", True), ("no", False),
                                              ("FALSE", False), ("0", False)])
def test_booleans_are_strict(text, value):
    assert parse_settings([f"do_sample={text}"], RUN_SETTINGS) == {"do_sample": value}


def test_a_word_that_is_not_a_boolean_is_refused():
    with pytest.raises(HarnessError, match="do_sample=nein is not a boolean"):
        parse_settings(["do_sample=nein"], RUN_SETTINGS)


def test_training_settings_come_from_the_config_dataclass():
    from harness.training.config import RUN_FIELDS, TrainConfig

    specs = settings_of_dataclass(TrainConfig, exclude=RUN_FIELDS)
    assert "model" not in specs and specs["llm_options"].kind == "nested"
    assert parse_settings(["lora_r=8", "augment=false", "trainable=vision_tower,mm_projector", "save_total_limit=none",
                           "learning_rate=1e-4", "llm_options.model_id=/m"], specs) == {
        "lora_r": 8, "augment": False, "trainable": ["vision_tower", "mm_projector"], "save_total_limit": None,
        "learning_rate": 1e-4, "llm_options": {"model_id": "/m"}}
    with pytest.raises(HarnessError, match="lora_r=abc: expected an integer"):
        parse_settings(["lora_r=abc"], specs)
    assert parse_settings(['report_to=["csv", "tensorboard"]'], specs) == {"report_to": ["csv", "tensorboard"]}
    with pytest.raises(HarnessError, match="JSON list of strings"):
        parse_settings(["report_to=[1, 2]"], specs)


def test_finetune_accepts_the_llm_path_override(tmp_path):
    from harness.training import resolve_run

    cfg = resolve_run("med3dvlm-demo", task="all", data="demo", out_dir=str(tmp_path),
                      overrides={"llm_options": {"model_id": "/models/smollm2"}})
    assert cfg.llm_options == {"model_id": "/models/smollm2"}


def test_load_model_applies_llm_options_to_the_zoo_recipe(monkeypatch):
    from harness.modeling import loading

    seen = {}

    def fake_load_recipe(recipe, dtype):
        seen["llm_options"] = recipe.llm_options
        raise HarnessError("stop here")

    monkeypatch.setattr(loading, "load_recipe", fake_load_recipe)
    with pytest.raises(HarnessError, match="stop here"):
        loading.load_model("med3dvlm", llm_options={"model_id": "/models/qwen"})
    assert seen["llm_options"]["model_id"] == "/models/qwen"
    assert "config" in seen["llm_options"], "the recipe's other LLM options are kept"


def test_llm_options_on_a_checkpoint_folder_are_refused(tmp_path):
    from harness.modeling.loading import load_model

    with pytest.raises(HarnessError, match="applies to zoo model names"):
        load_model(str(tmp_path), llm_options={"model_id": "/m"})
