"""Build the measured architectures at random initialisation directly on the device, in the bench dtype.

Their generation configs turn off transformers' automatic ``torch.compile`` of the decoding step (which a
static cache triggers on a GPU): compiling takes minutes for each batch shape and needs a compiler
toolchain, so every figure here is eager PyTorch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from harness.bench.device import Device


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def bench_dtype(device: Device) -> torch.dtype:
    """bf16 on a GPU (how the 7B models run); float32 on CPU, where bf16 matmuls are emulated and slow."""
    return torch.bfloat16 if device.is_cuda else torch.float32


def build_vlm(name: str, overrides: dict[str, Any], device: Device, dtype: torch.dtype) -> Any:
    """Zoo model ``name`` from its recipe and ``overrides`` (`harness.build_model`), allocated and initialised
    on ``device``."""
    import harness

    torch.manual_seed(0)
    with torch.device(device.torch_device), default_dtype(dtype):
        model = harness.build_model(name, **overrides)
    return _eager(model.to(dtype).eval())


def build_judge(architecture: dict[str, Any], device: Device, dtype: torch.dtype) -> Any:
    """A causal LM with the judge's architecture (its config.json fields), SDPA attention."""
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = dict(architecture)
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    torch.manual_seed(0)
    with torch.device(device.torch_device), default_dtype(dtype):
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    return _eager(model.to(dtype).eval())


def _eager(model: Any) -> Any:
    model.generation_config.disable_compile = True
    return model
