"""The VLM generation path: batched, left-padded, length-sorted generation with one vision-tower pass per
distinct volume and an optional static KV cache gives exactly the tokens of one-at-a-time greedy decoding."""

from __future__ import annotations

import pytest
import torch

from harness.generation import Generator
from harness.modeling.loading import build_model
from harness.task import Request

TINY_LLAMA = {
    "model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 96,
    "max_position_embeddings": 512, "tie_word_embeddings": True,
}
IMAGE_TOKEN_ID = 95


def tiny_demo(splice: str = "placeholder") -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model("med3dvlm-demo", llm="hf", llm_options={"model_id": "tiny", "config": TINY_LLAMA},
                        vocab_size=96, image_token_id=IMAGE_TOKEN_ID, local_weights=None,
                        splice=splice)
    return model.eval()


def word_tokenizer():
    """Words ``w0``..``w94`` are ids 0..94 and ``<im_patch>`` is 95; ``w0`` pads."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {f"w{i}": i for i in range(95)} | {"<im_patch>": IMAGE_TOKEN_ID}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="w1"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="w1", pad_token="w0", eos_token="w2")
    tokenizer.padding_side = "left"
    return tokenizer


def request(i: int, words: list[int], n_image: int) -> Request:
    prompt = " ".join(["w3", *["<im_patch>"] * n_image, *(f"w{w}" for w in words)])
    return Request(key=f"c{i}/q", case_id=f"c{i}", scope="global", question_id=None, question="q", prompt=prompt,
                   image=None, domain="abdomen", target="", decoding={"do_sample": False, "max_new_tokens": 6,
                                                                     "min_new_tokens": 6})


@pytest.mark.parametrize("cache", [None, "static"])
def test_generator_batch_equals_one_at_a_time(cache):
    model = tiny_demo()
    gen = Generator(model, word_tokenizer(), model.config.get_recipe(), "cpu", "float32",
                    cache_implementation=cache)
    n = model.num_image_tokens
    shared, other = (torch.rand(1, 32, 64, 64, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
    batch = [request(0, [7, 8, 9], n), request(1, [10, 11, 12, 13, 14, 15, 16], n), request(2, [20], n)]
    images = [shared, other, shared]  # requests 0 and 2 are two questions on one volume
    alone = [Generator(model, word_tokenizer(), model.config.get_recipe(), "cpu", "float32").generate([r], [im])[0]
             for r, im in zip(batch, images, strict=True)]
    assert gen.generate(batch, images) == alone
    assert len(set(alone)) > 1  # the rows differ, so a mix-up between rows would show


def test_the_vision_tower_runs_once_per_distinct_volume(monkeypatch):
    model = tiny_demo()
    gen = Generator(model, word_tokenizer(), model.config.get_recipe(), "cpu", "float32")
    seen: list[int] = []
    encode = model.encode_images
    monkeypatch.setattr(model, "encode_images", lambda images: seen.append(images.shape[0]) or encode(images))
    volume = torch.rand(1, 32, 64, 64)
    n = model.num_image_tokens
    gen.generate([request(i, [7 + i], n) for i in range(4)], [volume] * 4)
    assert seen == [1]


@pytest.mark.parametrize("splice", ["published", "placeholder"])
def test_static_cache_and_precomputed_features_equal_the_dynamic_cache(splice):
    model = tiny_demo(splice)
    n = model.num_image_tokens
    prompts = [[3] + [IMAGE_TOKEN_ID] * n + [7, 8, 9], [3] + [IMAGE_TOKEN_ID] * n + [10, 11, 12, 13, 14, 15]]
    images = torch.rand(2, 1, 32, 64, 64, generator=torch.Generator().manual_seed(1))
    width = max(map(len, prompts))
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    greedy = {"max_new_tokens": 5, "min_new_tokens": 5, "do_sample": False}
    alone = [model.generate(input_ids=torch.tensor([p]), images=images[i:i + 1], **greedy)[0].tolist()
             for i, p in enumerate(prompts)]
    static = model.generate(input_ids=ids, images=images, attention_mask=mask, cache_implementation="static", **greedy)
    features = model.generate(input_ids=ids, image_features=model.encode_images(images), attention_mask=mask,
                              **greedy)
    assert static.tolist() == alone
    assert features.tolist() == alone


def _fixture_volume(name: str) -> torch.Tensor:
    """Volumes "a" and "b" of ../shared/fixtures/med3dvlm-tiny (formulas in its README)."""
    import numpy as np

    z, y, x = np.arange(128).reshape(128, 1, 1), np.arange(256).reshape(1, 256, 1), np.arange(256).reshape(1, 1, 256)
    if name == "a":
        v = 0.5 + 0.25 * np.sin(z * 0.11 + y * 0.05) * np.cos(x * 0.07) + 0.2 * np.cos((x + y) * 0.013 - z * 0.031)
    else:
        r = ((z - 64) / 60) ** 2 + ((y - 120) / 100) ** 2 + ((x - 140) / 90) ** 2
        v = np.where(r < 1, 0.7 + 0.1 * np.sin(x * 0.2), 0.1 + 0.05 * np.cos(y * 0.3 + z * 0.1))
    return torch.from_numpy(np.clip(v, 0, 1).astype(np.float32))[None, None]


@pytest.mark.slow
def test_static_cache_and_features_reproduce_the_reference_greedy_tokens(shared_fixtures):
    """The published-layout tiny checkpoint: 12 greedy tokens equal the reference's, whichever path."""
    import json

    import harness

    folder = shared_fixtures / "med3dvlm-tiny"
    expected = json.loads((folder / "expected.json").read_text())
    model = harness.load_model(str(folder / "checkpoint"), dtype=torch.float32)
    greedy = {"max_new_tokens": 12, "min_new_tokens": 12, "do_sample": False}
    for key, volume in (("report", "a"), ("vqa", "b")):
        image = _fixture_volume(volume)
        ids = torch.tensor([expected["prompts"][key]])
        with torch.inference_mode():
            static = model.generate(input_ids=ids, images=image, cache_implementation="static", **greedy)
            features = model.generate(input_ids=ids, image_features=model.encode_images(image), **greedy)
        assert static[0].tolist() == expected["generated"][key]
        assert features[0].tolist() == expected["generated"][key]
