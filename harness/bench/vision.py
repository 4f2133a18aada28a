"""Vision tower + projector throughput: volumes per second at the recipe's input size."""

from __future__ import annotations

from typing import Any

import torch

from harness.bench.device import Device, is_out_of_memory


def measure_vision(model: Any, device: Device, batches: tuple[int, ...], *, repeats: int = 3) -> dict[str, Any]:
    """``encode_images`` (tower + projector) on random volumes; one warm-up call per batch size."""
    size = tuple(model.config.get_recipe().input_size)
    dtype = next(model.parameters()).dtype
    rows = []
    for batch in batches:
        images = torch.rand(batch, 1, *size, device=device.torch_device, dtype=dtype)
        device.reset_peak_memory()
        try:
            with torch.inference_mode():
                model.encode_images(images)
                _, seconds = device.timed(lambda images=images: [model.encode_images(images) for _ in range(repeats)])
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            rows.append({"batch": batch, "status": "out of memory"})
            break
        rows.append({"batch": batch, "volumes_per_s": batch * repeats / seconds,
                     "seconds_per_volume": seconds / (batch * repeats), "peak_memory_gib": device.peak_memory_gib()})
    return {"input_size": list(size), "image_tokens": int(model.num_image_tokens), "dtype": str(dtype), "rows": rows}
