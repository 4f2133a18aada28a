"""Demo-model generation on CPU (SmolLM2-135M size, 32 visual tokens, 32x64x64): batch 8 against one at a time.

In each group both tests do the same work, eight requests with ``new_tokens`` greedy new tokens each, so the
ratio of their mean times is the batched speed-up in tokens/s (`extra_info["tokens_per_s"]`). Workloads:

- ``short``: the 32 visual tokens plus 8-29 prompt tokens, 16 new tokens (the issue's original workload);
- ``flare-vqa``: one FLARE-shaped case's eight VQA prompts (the ``flare_vqa`` templates: 84-209 tokens),
  length-sorted as the run loop sorts them, 32 new tokens. Prefill is most of the work here and costs the
  same batched or not, so the speed-up is smaller (see docs/performance.md).
"""

from __future__ import annotations

import pytest
import torch

import harness
from harness import plugins
from harness.bench.generation import left_pad
from harness.bench.prompts import bench_tokenizer, task_prompts
from harness.bench.workload import TaskWorkload
from harness_plugins.tasks.flare.bench import bench_case

BATCH = 8
WORKLOADS = {"short": 16, "flare-vqa": 32}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return harness.build_model("med3dvlm-demo").eval()


def _prompts(model, workload: str) -> tuple[list[list[int]], int]:
    tokenizer = bench_tokenizer(model.config.text_config.vocab_size)
    n, image_token = model.num_image_tokens, model.config.image_token_id
    if workload == "short":
        return [[1] + [image_token] * n + list(range(10, 10 + 8 + 3 * i)) for i in range(BATCH)], tokenizer.pad_token_id
    task = plugins.registry("tasks").create("flare_vqa")
    work = TaskWorkload("flare_vqa", task, bench_case("full", questions=BATCH), new_tokens=32, judge_calls_per_case=0)
    vqa = task_prompts([work], tokenizer, image_tokens=n, style="med3dvlm")["flare_vqa"]
    return sorted(vqa, key=len), tokenizer.pad_token_id


def _generate(model, ids, images, mask, pad_id, new_tokens):
    with torch.inference_mode():
        return model.generate(input_ids=ids, images=images, attention_mask=mask, max_new_tokens=new_tokens,
                              min_new_tokens=new_tokens, do_sample=False, pad_token_id=pad_id)


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_generation_one_at_a_time(benchmark, model, workload):
    prompts, pad_id = _prompts(model, workload)
    images = torch.rand(BATCH, 1, *model.config.get_recipe().input_size)
    new_tokens = WORKLOADS[workload]
    benchmark.group = f"demo generation, 8 requests, {workload}"

    def run():
        for i, p in enumerate(prompts):
            _generate(model, torch.tensor([p]), images[i : i + 1], None, pad_id, new_tokens)

    benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=1)
    benchmark.extra_info["tokens_per_s"] = BATCH * new_tokens / benchmark.stats.stats.mean


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_generation_batch_8(benchmark, model, workload):
    prompts, pad_id = _prompts(model, workload)
    images = torch.rand(BATCH, 1, *model.config.get_recipe().input_size)
    new_tokens = WORKLOADS[workload]
    benchmark.group = f"demo generation, 8 requests, {workload}"
    ids, mask = left_pad(prompts, pad_id)
    benchmark.pedantic(lambda: _generate(model, ids, images, mask, pad_id, new_tokens), rounds=2, iterations=1,
                       warmup_rounds=1)
    benchmark.extra_info["tokens_per_s"] = BATCH * new_tokens / benchmark.stats.stats.mean
