"""`run_bench`: every measurement in order, into one JSON-serialisable result."""

from __future__ import annotations

import datetime
import gc
import importlib.metadata
import time
from typing import Any

import torch

from harness.bench import shapes as shape_sets
from harness.bench import workload
from harness.bench.device import Device, describe
from harness.errors import HarnessError

SECTIONS = ("vision", "generation", "judge", "training")
VERSIONED = ("torch", "transformers", "peft", "accelerate", "deepspeed")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("med3d-harness", *VERSIONED):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    out["cuda"] = torch.version.cuda
    return out


def check_device(name: str) -> Device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise HarnessError(f"--device {name}: torch sees no CUDA device (torch.cuda.is_available() is False); "
                           "use --device cpu or run on a GPU machine")
    if not (name == "cpu" or name.startswith("cuda")):
        raise HarnessError(f"--device {name}: use cpu, cuda or cuda:N")
    return describe(name)


def _free(device: Device) -> None:
    gc.collect()
    if device.is_cuda:
        torch.cuda.empty_cache()


def run_bench(device_name: str, *, sections: tuple[str, ...] = SECTIONS, scale: str | None = None,
              model: str | None = None, judge: str | None = None, tasks: tuple[str, ...] = ()) -> dict[str, Any]:
    """Measure ``sections`` on ``device_name``; ``scale`` ``full`` or ``tiny`` (default: tiny on CPU); ``model``,
    ``judge`` and ``tasks`` name what to measure (default: what the plugins declare, `harness.bench.workload`)."""
    from harness.bench.generation import measure_generation
    from harness.bench.judge import measure_judge
    from harness.bench.models import bench_dtype, build_judge, build_vlm
    from harness.bench.prompts import bench_tokenizer, green_prompts, task_prompts
    from harness.bench.training import measure_training
    from harness.bench.vision import measure_vision

    device = check_device(device_name)
    shapes = shape_sets.for_scale(scale or ("tiny" if device.name == "cpu" else "full"))
    work = workload.resolve(shapes.scale, sections=sections, model=model, judge=judge, tasks=tasks)
    new_tokens = {t.name: t.new_tokens for t in work.tasks}
    dtype = bench_dtype(device)
    start = time.perf_counter()
    result: dict[str, Any] = {
        "schema": "med3d-harness bench 2", "scale": shapes.scale, "model": work.model.name,
        "tasks": [t.name for t in work.tasks],
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": device.info(), "dtype": str(dtype).removeprefix("torch."), "versions": versions(),
    }

    def vlm_and_prompts(dtype: torch.dtype) -> tuple[Any, Any, dict[str, list[list[int]]]]:
        vlm = build_vlm(work.model.name, work.model.overrides, device, dtype)
        recipe = vlm.config.get_recipe()
        tokenizer = bench_tokenizer(vlm.config.text_config.vocab_size, recipe.image_token)
        prompts = task_prompts(work.tasks, tokenizer, image_tokens=vlm.num_image_tokens, style=recipe.prompt_style,
                               image_token=recipe.image_token)
        return vlm, tokenizer, prompts

    if {"vision", "generation"} & set(sections):
        vlm, tokenizer, prompts = vlm_and_prompts(dtype)
        if "vision" in sections:
            result["vision"] = measure_vision(vlm, device, shapes.vision_batches)
        if "generation" in sections:
            result["generation"] = measure_generation(vlm, device, prompts, new_tokens, shapes,
                                                      pad_id=tokenizer.pad_token_id)
        del vlm
        _free(device)
    if "judge" in sections:
        judge_model = build_judge(work.judge.architecture, device, dtype)
        tokenizer = bench_tokenizer(judge_model.config.vocab_size)
        prompts = green_prompts(max(shapes.judge_samples, 2 * max(shapes.judge_batches)))
        result["judge"] = measure_judge(
            judge_model, tokenizer, device, prompts, judge=work.judge, batches=shapes.judge_batches,
            new_tokens=shapes.judge_new_tokens, calls_per_case=sum(t.judge_calls_per_case for t in work.tasks),
            search_largest=shapes.search_largest, largest_cap=shapes.largest_cap)
        del judge_model
        _free(device)
    if "training" in sections:
        vlm, tokenizer, prompts = vlm_and_prompts(torch.float32)
        result["training"] = measure_training(vlm, device, prompts, new_tokens, shapes, pad_id=tokenizer.pad_token_id)
        del vlm
        _free(device)
    result["wall_s"] = time.perf_counter() - start
    return result
