"""A tiny 3D convolutional encoder following the harness encoder contract.

``forward(images)`` takes ``(B, 1, D, H, W)`` in [0, 1] and returns a list of ``(B, N_i, C_i)``
feature maps, one per selected stage; ``feature_shapes()`` gives their ``(N_i, C_i)`` without a
forward pass, which is how projectors size themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class TinyConv3dEncoder(nn.Module):
    """Stages of ``Conv3d(kernel 3, stride 2) -> GroupNorm -> GELU``; each halves every side (rounding up)."""

    def __init__(
        self,
        input_size: Sequence[int] = (32, 64, 64),
        channels: Sequence[int] = (8, 16),
        select_layer: int = -1,
    ) -> None:
        super().__init__()
        if not -len(channels) <= select_layer < 0:
            raise ValueError(f"select_layer must be in [-{len(channels)}, -1], got {select_layer}")
        self.input_size = tuple(int(s) for s in input_size)
        self.channels = tuple(int(c) for c in channels)
        self.select_layer = select_layer
        self.stages = [f"stage{i}" for i in range(len(self.channels))]
        blocks = []
        previous = 1
        for width in self.channels:
            blocks.append(nn.Sequential(
                nn.Conv3d(previous, width, kernel_size=3, stride=2, padding=1),
                nn.GroupNorm(1, width),
                nn.GELU(),
            ))
            previous = width
        self.blocks = nn.ModuleList(blocks)

    def feature_shapes(self) -> list[tuple[int, int]]:
        shapes = []
        size = self.input_size
        for width in self.channels:
            size = tuple(math.ceil(s / 2) for s in size)
            shapes.append((math.prod(size), width))
        return shapes[self.select_layer:]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        x = images
        for block in self.blocks:
            x = block(x)
            outputs.append(x.flatten(2).transpose(1, 2))  # (B, C, d, h, w) -> (B, d*h*w, C)
        return outputs[self.select_layer:]
