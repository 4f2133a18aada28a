"""``mhsa``: Med3DVLM's self-attention projector (the reference's ``MultiHeadSelfAttention``).

Written from the reference code (mirthAI/Med3DVLM, ``src/model/projector/mhsa.py``) with its parameter
names. No residual connections, as in the reference:

    LayerNorm -> multi-head self-attention (q/k/v/out projections) -> LayerNorm -> MLP (4x, GELU) -> GELU
    -> Linear(channels -> out_dim)

    >>> MHSAProjector([(32, 768)], out_dim=3584).num_tokens
    32
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import HarnessError
from harness_plugins.projectors._inputs import check_in_shapes, check_positive


class MLPLayer(nn.Module):
    """``linear1`` (dim -> 4 dim), GELU, ``linear2`` (4 dim -> dim)."""

    def __init__(self, embed_dim: int, scale: int = 4) -> None:
        super().__init__()
        self.linear1 = nn.Linear(embed_dim, embed_dim * scale)
        self.linear2 = nn.Linear(embed_dim * scale, embed_dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.act(self.linear1(x)))


class MHSAProjector(nn.Module):
    """``factory(in_shapes=[(n, c)], out_dim, num_heads=8) -> (B, n, out_dim)``."""

    def __init__(self, in_shapes: Sequence[Sequence[int]], out_dim: int, *, num_heads: int = 8) -> None:
        super().__init__()
        ((tokens, embed_dim),) = check_in_shapes(in_shapes, "mhsa", 1)
        out_dim = check_positive(out_dim, "out_dim", "mhsa")
        num_heads = check_positive(num_heads, "num_heads", "mhsa")
        if embed_dim % num_heads:
            raise HarnessError(
                f"projector 'mhsa': the encoder's {embed_dim} channels are not divisible by num_heads={num_heads}"
            )
        self.num_tokens = tokens
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.scale = math.sqrt(self.head_dim)
        self.mlp = MLPLayer(embed_dim)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.act = nn.GELU()
        self.out_layer = nn.Linear(embed_dim, out_dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.reshape(b, n, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        (x,) = features
        b, n, _ = x.shape
        x = self.norm1(x)
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / self.scale, dim=-1)
        attended = torch.matmul(weights, v).transpose(1, 2).reshape(b, n, self.embed_dim)
        x = self.mlp(self.norm2(self.out_proj(attended)))
        return self.out_layer(self.act(x))
