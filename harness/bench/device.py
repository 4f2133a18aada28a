"""The device a benchmark runs on: its name, a synchronising clock, peak memory and its dense bf16 peak."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

BF16_PEAK_TFLOPS: dict[str, float] = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "GH200": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10G": 70.0,
    "L4": 121.0,
}
"""Dense (no sparsity) bf16 tensor-core peaks from the vendor's data sheets, matched by substring of the
device name, most specific first."""


@dataclass
class Device:
    name: str
    """``cpu`` or a torch CUDA device string."""
    description: str
    memory_gib: float | None
    bf16_peak_tflops: float | None
    """None where unknown (CPU): MFU is then not computed."""

    @property
    def is_cuda(self) -> bool:
        return self.name.startswith("cuda")

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.name)

    def sync(self) -> None:
        if self.is_cuda:
            torch.cuda.synchronize(self.torch_device)

    def reset_peak_memory(self) -> None:
        if self.is_cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.torch_device)

    def peak_memory_gib(self) -> float | None:
        """Peak allocated memory since the last reset; None on CPU (no allocator statistics)."""
        if not self.is_cuda:
            return None
        return torch.cuda.max_memory_allocated(self.torch_device) / 2**30

    def timed(self, fn: Callable[[], Any]) -> tuple[Any, float]:
        """``fn()`` and its wall time in seconds, with the device synchronised on both sides."""
        self.sync()
        start = time.perf_counter()
        value = fn()
        self.sync()
        return value, time.perf_counter() - start

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "memory_gib": self.memory_gib,
                "bf16_peak_tflops": self.bf16_peak_tflops}


def bf16_peak(description: str) -> float | None:
    for key, value in BF16_PEAK_TFLOPS.items():
        if key.lower() in description.lower():
            return value
    return None


def describe(name: str) -> Device:
    """The device ``name`` (``cpu``, ``cuda``, ``cuda:1``) with its description and bf16 peak."""
    if name.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(name))
        return Device(name, props.name, round(props.total_memory / 2**30, 1), bf16_peak(props.name))
    return Device("cpu", platform.processor() or platform.machine(), None, None)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()
