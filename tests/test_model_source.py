"""One resolver from a ``--model`` value to (recipe, weights, tokenizer), and checkpoint layouts declared by plugins.

`harness.modeling.loading.resolve_source` is what `load_model` and `load_tokenizer` both read: a zoo name, a
harness folder, a folder in a plugin's layout (the published ``vlm_qwen`` one), an adapter export, a hub id.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import harness
from harness import hookimpl, plugins
from harness.errors import HarnessError
from harness.modeling import loading
from harness.modeling.loading import Source, build_model, resolve_source

TINY_LLAMA = {
    "model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 96,
    "max_position_embeddings": 256, "tie_word_embeddings": True,
}
PUBLISHED = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "med3dvlm-tiny" / "checkpoint"


def harness_folder(folder: Path, *, tokenizer: bool = True) -> Path:
    """A saved tiny harness checkpoint (the demo recipe with a random Llama), with a tokenizer of 96 ids."""
    from harness.bench.prompts import bench_tokenizer

    torch.manual_seed(0)
    model = build_model("med3dvlm-demo", llm="hf", llm_options={"model_id": "tiny", "config": TINY_LLAMA},
                        vocab_size=96, image_token_id=95, local_weights=None)
    model.save_pretrained(folder)
    if tokenizer:
        bench_tokenizer(96).save_pretrained(folder)
    return folder


def test_zoo_name_is_its_recipe_with_the_parts_tokenizer():
    source = resolve_source("med3dvlm")
    assert source.kind == "zoo" and source.recipe.name == "med3dvlm"
    assert source.weights == "MagicXin/Med3DVLM-Qwen-2.5-7B-FLARE2025" and source.tokenizer is None
    demo = resolve_source("med3dvlm-demo", llm_options={"model_id": "/models/smol"})
    assert demo.weights is None and demo.recipe.llm_options["model_id"] == "/models/smol"


def test_harness_folder_names_its_recipe_weights_and_tokenizer(tmp_path):
    folder = harness_folder(tmp_path / "ckpt")
    source = resolve_source(str(folder))
    assert source == Source("harness", source.recipe, folder, folder, "med3d_vlm")
    assert source.recipe.encoder == "dcformer-nano" and source.recipe.image_token_id == 95
    assert loading.load_tokenizer(source).convert_tokens_to_ids("<im_patch>") == 95


def test_adapter_export_takes_its_base_models_tokenizer(tmp_path):
    folder = harness_folder(tmp_path / "export", tokenizer=False)
    (folder / "adapter").mkdir()
    (folder / "adapter" / "adapter_config.json").write_text("{}")
    source = resolve_source(str(folder))
    assert source.kind == "adapter" and source.weights == folder and source.tokenizer is None
    assert source.recipe.llm_options["model_id"] == "tiny"


def test_published_folder_is_read_by_the_zoo_plugins_layout(tmp_path):
    if not PUBLISHED.is_dir():
        pytest.skip(f"{PUBLISHED} is absent")
    folder = tmp_path / "published"
    folder.mkdir()
    shutil.copy(PUBLISHED / "config.json", folder / "config.json")
    source = resolve_source(str(folder))
    assert (source.kind, source.model_type, source.weights, source.tokenizer) == ("layout", "vlm_qwen", folder, folder)
    recipe = source.recipe
    assert (recipe.encoder, recipe.projector, recipe.splice, recipe.prompt_style) == (
        "dcformer", "mixer", "published", "med3dvlm")
    assert recipe.hu_windows == {"abdomen": (-160.0, 240.0), "chest": (-1350.0, 150.0)}
    assert recipe.llm_options["config"]["model_type"] == "qwen2" and recipe.llm_options["config"]["vocab_size"] == 512


def test_hub_id_is_downloaded_once_and_read_as_the_folder_it_is(tmp_path, monkeypatch):
    """The tokenizer lookup used to send a hub id to the zoo ("unknown model 'org/ckpt'")."""
    folder = harness_folder(tmp_path / "snapshot")
    calls = []
    monkeypatch.setattr(loading, "snapshot", lambda repo_id, revision, hint: calls.append(repo_id) or folder)
    source = resolve_source("org/ckpt")
    assert calls == ["org/ckpt"] and source.kind == "harness" and source.tokenizer == folder
    assert loading.load_tokenizer(source).convert_tokens_to_ids("<im_patch>") == 95
    assert isinstance(loading.load_model(source), torch.nn.Module)
    assert calls == ["org/ckpt"]  # a resolved Source is not resolved again
    assert loading.load_tokenizer("org/ckpt").convert_tokens_to_ids("<im_patch>") == 95


def test_unknown_model_type_names_the_layouts_that_are_installed(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llava"}))
    with pytest.raises(HarnessError, match=r"model_type 'llava'; expected 'med3d_vlm' \(harness\) or 'vlm_qwen' "
                                           r"\(model med3dvlm\)"):
        resolve_source(str(tmp_path))


class _FlatLayoutPlugin:
    """A third-party zoo model whose checkpoints use their own flat config.json (``model_type: "toy_flat"``)."""

    @hookimpl
    def register_models(self, register):
        register("toy-flat", lambda **kw: flat_recipe({"hidden_size": 32}, "toy-flat"),
                 checkpoint_layouts={"toy_flat": f"{__name__}:flat_recipe"})


def flat_recipe(raw: dict, name: str):
    from harness.recipe import Recipe

    text = {**TINY_LLAMA, **{k: v for k, v in raw.items() if k in TINY_LLAMA and k != "model_type"}}
    return Recipe(name=name, encoder="dcformer-nano", projector="mixer", llm="hf", input_size=(32, 64, 64),
                  encoder_options={"select_layer": -2, "select_feature": "cls_patch"},
                  projector_options={"low_output_size": [24, 16], "high_output_size": [16, 16], "mlp_depth": 2},
                  llm_options={"model_id": "tiny", "config": text}, image_token_id=95)


def test_a_plugin_layout_loads_through_harness_and_the_auto_classes(tmp_path):
    from transformers import AutoModelForCausalLM

    ours = harness_folder(tmp_path / "harness", tokenizer=False)
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(ours / "model.safetensors", flat / "model.safetensors")
    (flat / "config.json").write_text(json.dumps({"model_type": "toy_flat", "hidden_size": 32}))
    with plugins.temporary_plugin(_FlatLayoutPlugin(), "toy-flat"):
        assert resolve_source(str(flat)).kind == "layout"
        loaded = harness.load_model(str(flat), dtype=torch.float32)
        auto = AutoModelForCausalLM.from_pretrained(flat, dtype=torch.float32)
    assert type(auto).__name__ == "ToyFlatLayoutForCausalLM" and auto.config.model_type == "toy_flat"
    expected = harness.load_model(str(ours), dtype=torch.float32).state_dict()
    for model in (loaded, auto):
        assert model.state_dict().keys() == expected.keys()
        assert all(torch.equal(model.state_dict()[k], v) for k, v in expected.items())


class _ClashingLayoutPlugin:
    @hookimpl
    def register_models(self, register):
        register("other-flat", lambda **kw: None, checkpoint_layouts={"vlm_qwen": f"{__name__}:flat_recipe"})


def test_two_readers_for_one_model_type_is_one_line_naming_both(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "vlm_qwen"}))
    with plugins.temporary_plugin(_ClashingLayoutPlugin(), "clash"), pytest.raises(
            HarnessError, match=r"'vlm_qwen' is claimed by model 'med3dvlm' .* and by model 'other-flat'"):
        resolve_source(str(tmp_path))


def test_saved_config_records_each_parts_plugin_distribution_and_version(tmp_path):
    harness_folder(tmp_path)
    components = json.loads((tmp_path / "config.json").read_text())["components"]
    for part, name in (("encoder", "dcformer-nano"), ("projector", "mixer"), ("llm", "hf")):
        assert components[part] == {"name": name, "distribution": "med3d-harness", "version": harness.__version__}


def test_a_checkpoint_saved_under_the_old_class_name_still_loads(tmp_path):
    """Configs written before the rename name ``Med3DVLMForCausalLM`` in ``architectures``: nothing reads it."""
    from transformers import AutoModelForCausalLM

    folder = harness_folder(tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["VLMForCausalLM"]
    config["architectures"] = ["Med3DVLMForCausalLM"]
    (folder / "config.json").write_text(json.dumps(config))
    ours = harness.load_model(str(folder), dtype=torch.float32)
    auto = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    assert type(ours).__name__ == type(auto).__name__ == "VLMForCausalLM"
    assert all(torch.equal(auto.state_dict()[k], v) for k, v in ours.state_dict().items())
