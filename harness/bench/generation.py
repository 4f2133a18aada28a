"""VLM generation on the bench tasks' prompts: prefill and decode tokens/s, peak memory, seconds per case.

Each row is one (task, batch, cache) point: the task's real prompts of its bench case and the fixed number of
new tokens it declares (`harness.bench.workload`), left-padded as the run loop pads. One ``generate`` call gives
both phases: a logits processor notes the time when the first logits arrive, so prefill is the vision tower,
the splice and the prompt forward, and decode is every later step.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from harness.bench.device import Device, is_out_of_memory
from harness.bench.shapes import Shapes


class FirstLogitsClock(LogitsProcessor):
    """Notes when ``generate`` first asks for a token: the end of prefill (synchronised once)."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.started = 0.0
        self.first: float | None = None

    def start(self) -> None:
        self.device.sync()
        self.started, self.first = time.perf_counter(), None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.first is None:
            self.device.sync()
            self.first = time.perf_counter()
        return scores

    def prefill_seconds(self) -> float:
        if self.first is None:
            raise AssertionError("generate produced no token")
        return self.first - self.started


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, prompts))
    ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def _cycle(prompts: list[list[int]], batch: int) -> list[list[int]]:
    return [prompts[i % len(prompts)] for i in range(batch)]


def generate_point(model: Any, device: Device, prompts: list[list[int]], *, batch: int, new_tokens: int,
                   pad_id: int, cache_implementation: str | None = None) -> dict[str, Any]:
    """Time one (batch, new tokens, cache) point; raises the device's out-of-memory error when it does not fit."""
    rows = _cycle(prompts, batch)
    ids, mask = left_pad(rows, pad_id)
    ids, mask = ids.to(device.torch_device), mask.to(device.torch_device)
    dtype = next(model.parameters()).dtype
    images = torch.rand(batch, 1, *model.config.get_recipe().input_size, device=device.torch_device, dtype=dtype)
    options: dict[str, Any] = {"do_sample": False, "pad_token_id": pad_id, "eos_token_id": None}
    if cache_implementation:
        options["cache_implementation"] = cache_implementation

    def run(n: int) -> torch.Tensor:
        return model.generate(input_ids=ids, attention_mask=mask, images=images, max_new_tokens=n,
                              min_new_tokens=n, **options)

    clock = FirstLogitsClock(device)
    device.reset_peak_memory()
    with torch.inference_mode():
        run(2)  # warm-up: kernels, allocator, cache allocation
        options["logits_processor"] = LogitsProcessorList([clock])
        clock.start()
        out, total = device.timed(lambda: run(new_tokens))
    prefill = clock.prefill_seconds()
    if out.shape != (batch, new_tokens):
        raise AssertionError(f"generate returned {tuple(out.shape)}, expected {(batch, new_tokens)}")
    prompt_tokens = int(mask.sum())
    decode = max(total - prefill, 1e-9)
    return {
        "batch": batch,
        "cache": cache_implementation or "dynamic",
        "prompt_tokens_mean": prompt_tokens / batch,
        "padded_length": int(ids.shape[1]),
        "new_tokens": new_tokens,
        "prefill_s": prefill,
        "prefill_tokens_per_s": prompt_tokens / prefill,
        "decode_tokens_per_s": batch * (new_tokens - 1) / decode,
        "tokens_per_s": batch * new_tokens / total,
        "seconds": total,
        "seconds_per_request": total / batch,
        "peak_memory_gib": device.peak_memory_gib(),
    }


def measure_generation(model: Any, device: Device, prompts: dict[str, list[list[int]]], new_tokens: dict[str, int],
                       shapes: Shapes, *, pad_id: int, caches: tuple[str | None, ...] = (None, "static")
                       ) -> dict[str, Any]:
    """Every (task, cache, batch) point, plus, on a GPU, the largest batch that fits (the first of
    `largest_candidates` that does not run out of memory); then seconds per case at each task's best point."""
    rows: list[dict[str, Any]] = []
    for task in prompts:
        for cache in caches:
            for batch in shapes.generation_batches:
                row = _point(model, device, prompts[task], batch, new_tokens[task], pad_id, cache)
                rows.append({"task": task, **row})
                if "status" in row:
                    break
            else:
                if shapes.search_largest and device.is_cuda:
                    for batch in largest_candidates(shapes.generation_batches[-1], shapes.largest_cap):
                        row = _point(model, device, prompts[task], batch, new_tokens[task], pad_id, cache)
                        rows.append({"task": task, "largest_search": True, **row})
                        if "status" not in row:
                            break
    requests = {task: len(p) for task, p in prompts.items()}
    return {"rows": rows, "per_case": per_case(rows, requests),
            "prompt_tokens": {k: [len(p) for p in v] for k, v in prompts.items()},
            "new_tokens": dict(new_tokens), "requests_per_case": requests}


def largest_candidates(last: int, cap: int) -> list[int]:
    """Batch sizes to try for "the largest that fits", largest first: ``cap``, halving while above ``last``."""
    out = []
    while cap > last:
        out.append(cap)
        cap //= 2
    return out


def _point(model: Any, device: Device, prompts: list[list[int]], batch: int, new_tokens: int, pad_id: int,
           cache: str | None) -> dict[str, Any]:
    try:
        return generate_point(model, device, prompts, batch=batch, new_tokens=new_tokens, pad_id=pad_id,
                              cache_implementation=cache)
    except (RuntimeError, ValueError) as exc:
        if not is_out_of_memory(exc):
            raise
        device.reset_peak_memory()
        return {"batch": batch, "cache": cache or "dynamic", "status": "out of memory"}


def per_case(rows: list[dict[str, Any]], requests_per_case: dict[str, int]) -> dict[str, Any]:
    """Seconds per case (every task's requests of one case) at each task's fastest point."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        if "status" in row:
            continue
        current = best.get(row["task"])
        if current is None or row["seconds_per_request"] < current["seconds_per_request"]:
            best[row["task"]] = row
    missing = sorted(set(requests_per_case) - set(best))
    if missing:
        return {"status": f"no point of {', '.join(missing)} fitted"}
    seconds = sum(n * best[task]["seconds_per_request"] for task, n in requests_per_case.items())
    return {"seconds_per_case": seconds,
            "best": {task: {"batch": best[task]["batch"], "cache": best[task]["cache"]} for task in requests_per_case}}
