"""Encoder forward speed on CPU: every DCFormer size on a 1 x 1 x 32 x 64 x 64 volume, eval mode.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest benchmarks/test_bench_encoders.py --benchmark-only
"""

from __future__ import annotations

import pytest
import torch

from harness_plugins.encoders.dcformer import SIZES, DCFormer

INPUT_SIZE = (32, 64, 64)


@pytest.mark.parametrize("size", list(SIZES))
def test_dcformer_forward(benchmark, size):
    torch.manual_seed(0)
    encoder = DCFormer(size, INPUT_SIZE).eval()
    images = torch.rand(1, 1, *INPUT_SIZE)
    benchmark.extra_info["parameters_m"] = round(sum(p.numel() for p in encoder.parameters()) / 1e6, 2)
    benchmark.extra_info["threads"] = torch.get_num_threads()

    def forward() -> list[torch.Tensor]:
        with torch.inference_mode():
            return encoder(images)

    features = benchmark.pedantic(forward, rounds=5, warmup_rounds=1)
    assert [tuple(f.shape[1:]) for f in features] == encoder.feature_shapes()
