"""`run_bench`: every measurement in order, into one JSON-serialisable result."""

from __future__ import annotations

import datetime
import gc
import importlib.metadata
import time
from typing import Any

import torch

from harness.bench import shapes as shape_sets
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


def run_bench(device_name: str, *, sections: tuple[str, ...] = SECTIONS, scale: str | None = None) -> dict[str, Any]:
    """Measure ``sections`` on ``device_name``; ``scale`` ``full`` or ``tiny`` (default: tiny on CPU)."""
    from harness.bench.generation import measure_generation
    from harness.bench.judge import measure_judge
    from harness.bench.models import bench_dtype, build_judge, build_vlm
    from harness.bench.prompts import bench_tokenizer, flare_prompts, green_prompts
    from harness.bench.training import measure_training
    from harness.bench.vision import measure_vision

    device = check_device(device_name)
    shapes = shape_sets.for_scale(scale or ("tiny" if device.name == "cpu" else "full"))
    dtype = bench_dtype(device)
    start = time.perf_counter()
    result: dict[str, Any] = {
        "schema": "med3d-harness bench 1", "scale": shapes.scale, "model": shapes.model,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": device.info(), "dtype": str(dtype).removeprefix("torch."), "versions": versions(),
    }
    if {"vision", "generation"} & set(sections):
        model = build_vlm(shapes, device, dtype)
        tokenizer = bench_tokenizer(model.config.text_config.vocab_size)
        prompts = flare_prompts(tokenizer, image_tokens=model.num_image_tokens, vqa_per_case=shapes.vqa_per_case)
        if "vision" in sections:
            result["vision"] = measure_vision(model, device, shapes.vision_batches)
        if "generation" in sections:
            result["generation"] = measure_generation(model, device, prompts, shapes, pad_id=tokenizer.pad_token_id)
        del model
        _free(device)
    if "judge" in sections:
        judge = build_judge(shapes, device, dtype)
        tokenizer = bench_tokenizer(judge.config.vocab_size)
        prompts = green_prompts(max(shapes.judge_samples, 2 * max(shapes.judge_batches)))
        result["judge"] = measure_judge(
            judge, tokenizer, device, prompts, batches=shapes.judge_batches, new_tokens=shapes.judge_new_tokens,
            calls_per_case=shapes.judge_calls_per_case, search_largest=shapes.search_largest,
            largest_cap=shapes.largest_cap)
        del judge
        _free(device)
    if "training" in sections:
        model = build_vlm(shapes, device, torch.float32)
        tokenizer = bench_tokenizer(model.config.text_config.vocab_size)
        prompts = flare_prompts(tokenizer, image_tokens=model.num_image_tokens, vqa_per_case=shapes.vqa_per_case)
        result["training"] = measure_training(model, device, prompts, shapes, pad_id=tokenizer.pad_token_id)
        del model
        _free(device)
    result["wall_s"] = time.perf_counter() - start
    return result
