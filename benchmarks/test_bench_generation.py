"""Demo-model generation throughput on CPU (SmolLM2-135M size, 32x64x64 input): batched vs one at a time."""

from __future__ import annotations

import pytest
import torch

import harness

BATCH = 4
NEW_TOKENS = 16


@pytest.fixture(scope="module")
def demo():
    torch.manual_seed(0)
    model = harness.build_model("med3dvlm-demo").eval()
    n = model.num_image_tokens
    image_token = model.config.image_token_id
    prompts = [[1] + [image_token] * n + list(range(10, 10 + 8 + 3 * i)) for i in range(BATCH)]
    images = torch.rand(BATCH, 1, *model.config.get_recipe().input_size)
    return model, prompts, images


def _generate(model, ids, images, mask=None):
    return model.generate(input_ids=ids, images=images, attention_mask=mask, max_new_tokens=NEW_TOKENS,
                          min_new_tokens=NEW_TOKENS, do_sample=False)


def test_generation_unbatched(benchmark, demo):
    model, prompts, images = demo

    def run():
        for i, p in enumerate(prompts):
            _generate(model, torch.tensor([p]), images[i : i + 1])

    benchmark.pedantic(run, rounds=2, iterations=1)
    benchmark.extra_info["tokens_per_s"] = BATCH * NEW_TOKENS / benchmark.stats.stats.mean


def test_generation_batched(benchmark, demo):
    model, prompts, images = demo
    width = max(map(len, prompts))
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    benchmark.pedantic(lambda: _generate(model, ids, images, mask), rounds=2, iterations=1)
    benchmark.extra_info["tokens_per_s"] = BATCH * NEW_TOKENS / benchmark.stats.stats.mean
