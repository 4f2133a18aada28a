"""A pooling projector following the harness projector contract.

Every feature map ``(B, N_i, C_i)`` is average-pooled along its tokens to ``num_tokens``; the maps
are concatenated along channels and an MLP maps them to the LLM width: ``(B, num_tokens, out_dim)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


class PoolingProjector(nn.Module):
    def __init__(self, in_shapes: Sequence[Sequence[int]], out_dim: int, num_tokens: int = 32) -> None:
        super().__init__()
        if not in_shapes:
            raise ValueError("in_shapes must name at least one (tokens, channels) feature map")
        self.in_shapes = [(int(n), int(c)) for n, c in in_shapes]
        self.num_tokens = int(num_tokens)
        in_channels = sum(c for _, c in self.in_shapes)
        self.mlp = nn.Sequential(nn.LayerNorm(in_channels), nn.Linear(in_channels, out_dim), nn.GELU(),
                                 nn.Linear(out_dim, out_dim))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        pooled = [F.adaptive_avg_pool1d(f.transpose(1, 2), self.num_tokens).transpose(1, 2) for f in features]
        return self.mlp(torch.cat(pooled, dim=-1))
