"""Unit tests of the fine-tuning pieces: settings, DeepSpeed configs, labels, collate, mixing, parts, export."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from harness.errors import HarnessError
from harness.recipe import Recipe
from harness.settings import parse_settings as typed_settings
from harness.settings import settings_of_dataclass
from harness.training.config import RUN_FIELDS, TrainConfig, resolve_config, resolved_precision
from harness.training.encoding import IGNORE_INDEX, Collator, encode_example
from harness.training.export import atomic_save_tensors, trained_tensors
from harness.training.parts import count_parameters, lora_target_regex, part_of, set_trainable
from harness.training.samples import Sample, Slot
from harness.training.zero import resolve_deepspeed, zero_stage


def _recipe(**training) -> Recipe:
    return Recipe(name="m", encoder="e", projector="p", llm="l", training=training)


def _resolve(recipe: Recipe, overrides: dict | None = None):
    return resolve_config(recipe, overrides or {}, model="m", task="all", data="demo", out_dir="o")


# settings


def test_published_defaults_apply_when_the_recipe_is_silent():
    cfg = _resolve(_recipe())
    assert (cfg.lora, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout) == (True, 16, 32, 0.05)
    assert (cfg.learning_rate, cfg.lr_scheduler, cfg.warmup_ratio, cfg.weight_decay) == (5e-5, "cosine", 0.03, 0.0)
    assert (cfg.epochs, cfg.batch_size, cfg.max_length) == (100, 8, 1024)
    assert cfg.trainable == ["vision_tower", "mm_projector", "embed_tokens", "lm_head"]


def test_recipe_spellings_then_overrides_win():
    recipe = _recipe(lora={"r": 4, "alpha": 8, "dropout": 0.1}, bf16=True,
                     trainable=["model.vision_tower", "lm_head"], learning_rate=1e-4)
    cfg = _resolve(recipe, {"learning_rate": "2e-4", "lora_r": 2})
    assert (cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout) == (2, 8, 0.1)
    assert cfg.learning_rate == pytest.approx(2e-4)
    assert cfg.trainable == ["vision_tower", "lm_head"]
    assert resolved_precision(cfg, cuda=True) == "bf16"
    assert resolved_precision(cfg, cuda=False) == "fp32"


def parse_settings(pairs):
    return typed_settings(pairs, settings_of_dataclass(TrainConfig, exclude=RUN_FIELDS))


def test_set_values_parse_and_unknown_keys_fail():
    assert parse_settings(["lora_r=8", "augment=false", "trainable=vision_tower,mm_projector", "report_to=csv"]) == {
        "lora_r": 8, "augment": False, "trainable": ["vision_tower", "mm_projector"], "report_to": ["csv"]}
    with pytest.raises(HarnessError, match="augment=nein is not a boolean"):
        _resolve(_recipe(), {"augment": "nein"})
    cfg = _resolve(_recipe(), parse_settings(["trainable=vision_tower,mm_projector", "report_to=tensorboard"]))
    assert cfg.trainable == ["vision_tower", "mm_projector"] and cfg.report_to == ["tensorboard"]
    with pytest.raises(HarnessError, match="unknown training setting 'lora_rank'"):
        _resolve(_recipe(), {"lora_rank": 8})
    with pytest.raises(HarnessError, match="unknown trainable part"):
        _resolve(_recipe(), {"trainable": ["vision"]})
    with pytest.raises(HarnessError, match="KEY=VALUE"):
        parse_settings(["lora_r"])


# DeepSpeed


def test_shipped_zero_configs_resolve():
    two, three = resolve_deepspeed("zero2", cuda=False), resolve_deepspeed("zero3", cuda=False)
    assert zero_stage(two) == 2 and zero_stage(three) == 3
    for config in (two, three):
        assert config["train_micro_batch_size_per_gpu"] == "auto" and config["bf16"]["enabled"] == "auto"
        assert "optimizer" not in config  # the Trainer's torch AdamW: nothing to compile
    assert three["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_deepspeed_auto_none_file_and_errors(tmp_path: Path):
    assert resolve_deepspeed("auto", cuda=False) is None
    assert zero_stage(resolve_deepspeed("auto", cuda=True)) == 2
    assert resolve_deepspeed("none", cuda=True) is None
    own = tmp_path / "ds.json"
    own.write_text(json.dumps({"zero_optimization": {"stage": 1}}))
    assert zero_stage(resolve_deepspeed(str(own), cuda=True)) == 1
    with pytest.raises(HarnessError, match="not found"):
        resolve_deepspeed("zero4", cuda=True)
    own.write_text("{")
    with pytest.raises(HarnessError, match="not valid JSON"):
        resolve_deepspeed(str(own), cuda=True)


# labels and collate


class _CharTokenizer:
    """One id per character (id = ord), EOS 3: enough to check masking arithmetic exactly."""

    eos_token_id = 3
    pad_token_id = 0

    def __call__(self, text: str) -> dict:
        return {"input_ids": [ord(c) for c in text]}


def test_prompt_is_masked_and_eos_follows_the_target():
    ex = encode_example(_CharTokenizer(), "PQ", "ab", max_length=64)
    assert ex["input_ids"] == [ord("P"), ord("Q"), ord(" "), ord("a"), ord("b"), 3]
    assert ex["labels"] == [IGNORE_INDEX, IGNORE_INDEX, ord(" "), ord("a"), ord("b"), 3]


def test_truncation_drops_the_tail_and_a_too_long_prompt_fails():
    ex = encode_example(_CharTokenizer(), "PQ", "abcdef", max_length=5)
    assert len(ex["input_ids"]) == 5 and ex["labels"][:2] == [IGNORE_INDEX] * 2 and 3 not in ex["labels"]
    with pytest.raises(HarnessError, match="max_length"):
        encode_example(_CharTokenizer(), "PROMPT", "x", max_length=6, where="case c")


def test_collate_pads_right_and_stacks_images():
    examples = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7], "images": torch.zeros(1, 2, 2, 2)},
                {"input_ids": [8], "labels": [8], "images": torch.ones(1, 2, 2, 2)}]
    batch = Collator(pad_token_id=0)(examples)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["images"].shape == (2, 1, 2, 2, 2) and batch["images"][1].min() == 1


# mixing


def _vqa_slot() -> Slot:
    return Slot(0, "vqa", {"global": [Sample("g1", "a", "g/0"), Sample("g2", "b", "g/1")],
                           "local": [Sample("l1", "c", "l/1"), Sample("l2", "d", "l/2")]},
                first_scopes=frozenset({"global"}))


def test_slots_take_their_first_scopes_from_the_tasks_training_draw():
    from harness import plugins
    from harness.training.samples import build_slots
    from harness_plugins.tasks.flare.records import Case

    task = plugins.registry("tasks").create("flare_vqa")
    assert task.training_draw == {"global": "first"}
    case = Case.from_json({"case_id": "c.nii.gz", "global_vqa": [{"question": "q1", "answer": ["a"]},
                                                                {"question": "q2", "answer": ["b"]}]})
    slots, _ = build_slots([case], [task], style="chat", image_tokens="", tokenizer=_ChatTemplate())
    assert slots[0].first_scopes == {"global"}
    assert {slots[0].draw(random.Random(i)).key for i in range(40)} == {"c.nii.gz/global/0"}
    assert len({slots[0].draw(random.Random(i), "random").key for i in range(40)}) == 2


def test_vqa_slot_draws_global_or_a_random_chain_half_each():
    rng = random.Random(0)
    draws = [_vqa_slot().draw(rng).key for _ in range(4000)]
    assert abs(sum(k.startswith("g/") for k in draws) / 4000 - 0.5) < 0.03
    assert set(draws) == {"g/0", "l/1", "l/2"}  # "first" global question only, as the reference
    assert abs(draws.count("l/1") - draws.count("l/2")) < 200
    random_global = {_vqa_slot().draw(rng, "random").key for _ in range(400)}
    assert {"g/0", "g/1"} <= random_global


class _ChatTemplate:
    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        return " ".join(m["content"] for m in messages)


def test_a_case_without_local_questions_always_asks_globally():
    slot = Slot(0, "vqa", {"global": [Sample("g", "a", "g/0")]})
    assert {slot.draw(random.Random(1)).key for _ in range(50)} == {"g/0"}


# parts


class _Toy(torch.nn.Module):
    """Same names as the assembled model: decoder at model.*, vision tower and projector inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.model = torch.nn.Module()
        self.model.embed_tokens = torch.nn.Embedding(10, 4)
        self.model.layers = torch.nn.ModuleList([torch.nn.Module()])
        self.model.layers[0].q_proj = torch.nn.Linear(4, 4)
        self.model.layers[0].down_proj = torch.nn.Linear(4, 4)
        self.model.vision_tower = torch.nn.Module()
        self.model.vision_tower.fc = torch.nn.Linear(4, 4)
        self.model.vision_tower.q_proj = torch.nn.Linear(4, 4)  # a decoy: LoRA must not reach the vision tower
        self.model.vision_tower.bn = torch.nn.BatchNorm1d(4)
        self.model.mm_projector = torch.nn.Linear(4, 4)
        self.lm_head = torch.nn.Linear(4, 10, bias=False)


def test_part_names():
    assert part_of("base_model.model.model.vision_tower.vision_tower.encoder.s0.0.weight") == "vision_tower"
    assert part_of("model.layers.0.self_attn.q_proj.lora_A.default.weight") == "lora"
    assert part_of("model.embed_tokens.weight") == "embed_tokens"
    assert part_of("lm_head.weight") == "lm_head"
    assert part_of("model.layers.3.mlp.down_proj.base_layer.weight") == "llm"


def test_lora_goes_on_llm_linears_only_and_parts_train_in_full():
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(_Toy(), LoraConfig(r=2, lora_alpha=4, target_modules=lora_target_regex(_Toy())))
    lora_modules = {n.split(".lora_A")[0] for n, _ in model.named_parameters() if "lora_A" in n}
    assert lora_modules == {"base_model.model.model.layers.0.q_proj", "base_model.model.model.layers.0.down_proj"}
    set_trainable(model, ["vision_tower", "mm_projector"], lora=True)
    counts = count_parameters(model)
    assert counts["vision_tower"]["trainable"] == counts["vision_tower"]["total"] == 2 * 20 + 8
    assert counts["llm"]["trainable"] == 0 and counts["embed_tokens"]["trainable"] == 0
    assert counts["lora"]["trainable"] == 2 * (2 * 4 + 4 * 2)
    assert counts["all"]["trainable"] == sum(
        counts[p]["trainable"] for p in ("vision_tower", "mm_projector", "lora"))
    tensors = trained_tensors(model, model.state_dict())
    assert any(k.endswith("vision_tower.bn.running_mean") for k in tensors)  # buffers of trained parts kept
    assert not any(part_of(k) in {"llm", "embed_tokens", "lm_head"} for k in tensors)


def test_full_finetuning_without_lora_trains_the_llm():
    model = _Toy()
    set_trainable(model, [], lora=False)
    counts = count_parameters(model)
    assert counts["llm"]["trainable"] == counts["llm"]["total"] > 0
    assert counts["vision_tower"]["trainable"] == 0


def test_tied_weights_are_saved_once(tmp_path: Path):
    model = _Toy()
    model.lm_head = torch.nn.Linear(4, 10, bias=False)
    model.lm_head.weight = model.model.embed_tokens.weight
    set_trainable(model, ["embed_tokens", "lm_head"], lora=False)
    state = model.state_dict()
    tensors = trained_tensors(model, state)
    assert sum(t.data_ptr() == model.lm_head.weight.data_ptr() for t in tensors.values()) <= 1
    atomic_save_tensors(tensors, tmp_path / "t.safetensors")  # safetensors refuses shared tensors
    assert (tmp_path / "t.safetensors").is_file() and not list(tmp_path.glob(".t.safetensors-*"))


# the model card


def test_the_card_header_holds_what_the_hub_reads():
    from huggingface_hub import ModelCard

    from harness.training.card import card_text, hub_base_model

    cfg = _resolve(_recipe(), {"name": "ft", "max_steps": 3})
    base = {"name": "m", "encoder": "e", "projector": "p", "llm": "l", "input_size": [32, 64, 64],
            "weights": "org/base-model", "licence": "Apache-2.0"}
    card = ModelCard(card_text(cfg, recipe={**base, "name": "ft"}, base_recipe=base,
                               metrics={"global_step": 3, "train_loss": 1.23456}))
    assert (card.data.license, card.data.base_model, card.data.model_name) == ("apache-2.0", "org/base-model", "ft")
    assert "| final training loss | 1.2346 |" in card.text and "| training time (s) | - |" in card.text
    assert hub_base_model({"weights": None, "llm_options": {"model_id": "HuggingFaceTB/SmolLM2"}}) == \
        "HuggingFaceTB/SmolLM2"
    assert hub_base_model({"weights": "/abs/folder"}) is None
    free_text = {**base, "licence": "Apache-2.0 (code); Qwen2.5 licence for the LLM weights"}
    header = ModelCard(card_text(cfg, recipe=base, base_recipe=free_text, metrics={})).data
    assert (header.license, header.license_name) == ("other", "apache-2-0-code-qwen2-5-licence-for-the-llm-weights")
