"""Every zoo recipe: card, meta-device build, CPU forward with a tiny LLM of its family, batched generation."""

from __future__ import annotations

import pytest
import torch

import harness
from harness import plugins
from harness.modeling.loading import llm_backend, resolve_recipe

MODELS = plugins.registry("models").names()
TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 96, "max_position_embeddings": 512,
        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
IMAGE_TOKEN = 95


def tiny_overrides(name: str) -> dict:
    """Replace the recipe's LLM by a tiny random one of the same family, at a small input size."""
    recipe = resolve_recipe(name)
    family = llm_backend(recipe).config().model_type
    input_size = (32, 64, 64) if recipe.encoder.startswith("dcformer") else (16, 32, 32)
    return {
        "llm": "hf", "llm_options": {"model_id": f"tiny-{family}", "config": {"model_type": family, **TINY}},
        "vocab_size": 96, "image_token_id": IMAGE_TOKEN, "local_weights": None, "parts_weights": None,
        "input_size": input_size,
    }


def test_zoo_has_the_issue_models():
    assert {"med3dvlm", "med3dvlm-init", "flare25-baseline", "med3dvlm-demo"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_card_names_weights_and_paper(name):
    card = plugins.registry("models").create(name).card()
    assert card["name"] == name and card["splice"] in ("published", "placeholder")
    assert card["paper"] != "-" and card["licence"] != "-"


@pytest.mark.parametrize("name", MODELS)
def test_builds_on_meta_device(name):
    with torch.device("meta"):
        model = harness.build_model(name)
    assert all(p.is_meta for p in model.parameters())
    assert model.num_image_tokens > 0


@pytest.mark.parametrize("name", MODELS)
def test_forward_and_batched_generation_with_tiny_llm(name):
    torch.manual_seed(0)
    model = harness.build_model(name, **tiny_overrides(name)).eval()
    n = model.num_image_tokens
    recipe = model.config.get_recipe()
    images = torch.rand(2, 1, *recipe.input_size, generator=torch.Generator().manual_seed(0))
    prompts = [[1] + [IMAGE_TOKEN] * n + [7, 8], [1] + [IMAGE_TOKEN] * n + [9, 10, 11, 12]]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompts[0]]), images=images[:1]).logits
    assert logits.shape == (1, len(prompts[0]), 96) and torch.isfinite(logits).all()
    alone = [model.generate(input_ids=torch.tensor([p]), images=images[i : i + 1], max_new_tokens=3, do_sample=False)
             for i, p in enumerate(prompts)]
    width = max(map(len, prompts))
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = (torch.arange(width)[None, :] >= torch.tensor([[width - len(p)] for p in prompts])).long()
    batched = model.generate(input_ids=ids, images=images, attention_mask=mask, max_new_tokens=3, do_sample=False)
    assert [row.tolist() for row in batched] == [a[0].tolist() for a in alone]


def test_swapping_a_part_drops_the_old_parts_options():
    """docs/reproducing-med3dvlm.md: the mixer's options used to be merged into the new projector's (TypeError)."""
    recipe = resolve_recipe("med3dvlm", projector="low_high_mlp", projector_options={"depth": 2})
    assert recipe.projector_options == {"depth": 2}
    assert resolve_recipe("med3dvlm", projector="low_high_mlp").projector_options == {}
    same = resolve_recipe("med3dvlm", projector="mixer", projector_options={"mlp_depth": 3})
    assert same.projector_options == {"low_output_size": [192, 128], "high_output_size": [64, 128], "mlp_depth": 3}
    with torch.device("meta"):
        model = harness.build_model("med3dvlm", projector="low_high_mlp", projector_options={"depth": 2})
    assert type(model.model.mm_projector).__name__ == "LowHighMLP"


def test_zoo_recipes_name_no_folder_of_this_machine():
    """A recipe is saved into every checkpoint's config.json: it must hold no absolute path."""
    from pathlib import Path

    from harness.recipe import resolve_path

    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    for name in MODELS:
        found = [s for s in strings(plugins.registry("models").create(name).to_dict()) if Path(s).is_absolute()]
        assert not found, (name, found)
    demo = plugins.registry("models").create("med3dvlm-demo")
    assert (resolve_path(demo.local_weights) / "adapter" / "adapter_config.json").is_file()
