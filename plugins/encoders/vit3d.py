"""``vit3d``: Med3DVLM's plain 3D ViT, the alternative to DCFormer in its code base.

Written from the reference code (mirthAI/Med3DVLM, ``src/model/encoder/vit.py``) with its parameter
names (``encoder.to_patch_embedding.1.weight``, ``encoder.transformer.layers.0.0.to_qkv.weight`` ...), so
its checkpoints load unchanged under ``model.vision_tower.vision_tower.``. Reproduced as the
reference builds it from a config (``Vit3D(input_size, dim, depth)``):

- the input (B, 1, D, H, W) is permuted to (B, 1, H, W, D) and cut into cubes of ``patch_size``
  (32: the reference never passes the config's ``patch_size`` on), flattened as (p1 p2 p3 c);
- patch embedding: LayerNorm -> Linear -> LayerNorm; a class token is prepended and a learned position
  embedding added; pre-norm transformer blocks (8 heads of 64, feed-forward hidden width ``mlp_dim``,
  4 in the reference, with its own LayerNorm); no final norm;
- the class token is dropped, and the token sequence is re-read as a (D/p, H/p, W/p) grid and reordered
  to (W/p, D/p, H/p) exactly as the reference's rearranges do (it reads patches in (H, W, D) order,
  so this scrambles space; kept so that weights trained with it stay valid).

One stage (``"tokens"``): ``select_layer`` is ``-1`` or ``0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import HarnessError
from harness_plugins.encoders._features import check_input_size, check_select_feature, selected_stages


class PatchFlatten(nn.Module):
    """(B, C, X*p, Y*p, Z*p) -> (B, X*Y*Z, p*p*p*C): cubes in (X, Y, Z) order, each flattened as (p1 p2 p3 c)."""

    def __init__(self, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, *dims = x.shape
        p = self.patch_size
        gx, gy, gz = (n // p for n in dims)
        x = x.reshape(b, c, gx, p, gy, p, gz, p).permute(0, 2, 4, 6, 3, 5, 7, 1)
        return x.reshape(b, gx * gy * gz, p * p * p * c)


class Attention(nn.Module):
    """Pre-norm multi-head self-attention (``norm``, bias-free ``to_qkv``, ``to_out.0`` Linear + dropout)."""

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float = 0.0) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head**-0.5
        self.norm = nn.LayerNorm(dim)
        self.attend = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)
        self.to_qkv = nn.Linear(dim, inner * 3, bias=False)
        project_out = not (heads == 1 and dim_head == dim)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout)) if project_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(self.norm(x)).chunk(3, dim=-1))
        attn = self.dropout(self.attend(torch.matmul(q, k.transpose(-1, -2)) * self.scale))
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, -1)
        return self.to_out(out)


class FeedForward(nn.Module):
    """``net``: LayerNorm, Linear, GELU, Dropout, Linear, Dropout."""

    def __init__(self, dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Transformer(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, dim_head: int, mlp_dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([Attention(dim, heads, dim_head), FeedForward(dim, mlp_dim)]) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class ViTEncoder(nn.Module):
    """Patch embedding, class token, position embedding and transformer (the reference's ``ViTEncoder``)."""

    def __init__(
        self, input_size: tuple[int, int, int], patch_size: int, dim: int, depth: int, heads: int, dim_head: int,
        mlp_dim: int, channels: int,
    ) -> None:
        super().__init__()
        num_patches = 1
        for n in input_size:
            num_patches *= n // patch_size
        patch_dim = channels * patch_size**3
        self.to_patch_embedding = nn.Sequential(
            PatchFlatten(patch_size), nn.LayerNorm(patch_dim), nn.Linear(patch_dim, dim), nn.LayerNorm(dim)
        )
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(0.0)
        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W, D) -> (B, N, dim) patch tokens, class token dropped, in patch order."""
        x = self.to_patch_embedding(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embedding[:, : x.shape[1] + 1]
        return self.transformer(self.dropout(x))[:, 1:]


class Vit3D(nn.Module):
    """Encoder contract: ``forward(images (B, 1, D, H, W)) -> [(B, N, dim)]``, N = prod(input_size // patch_size)."""

    def __init__(
        self,
        input_size: Sequence[int] = (128, 256, 256),
        *,
        patch_size: int = 32,
        dim: int = 768,
        depth: int = 12,
        heads: int = 8,
        dim_head: int = 64,
        mlp_dim: int = 4,
        in_channels: int = 1,
        select_layer: int = -1,
        select_feature: str = "cls_patch",
    ) -> None:
        super().__init__()
        self.input_size = check_input_size(input_size, "vit3d")
        if any(n % patch_size for n in self.input_size):
            raise HarnessError(
                f"encoder 'vit3d': input_size {self.input_size} must be divisible by patch_size {patch_size}"
            )
        self.stages = ["tokens"]
        self.select = selected_stages(select_layer, self.stages, "vit3d")
        self.select_feature = check_select_feature(select_feature, "vit3d")  # no class token is returned
        self.dim = dim
        self.grid = tuple(n // patch_size for n in self.input_size)
        self.encoder = ViTEncoder(self.input_size, patch_size, dim, depth, heads, dim_head, mlp_dim, in_channels)

    def feature_grids(self) -> list[tuple[int, int, int]]:
        """The (z, x, y) grid the reference reshapes the tokens into, in token order (see module docstring)."""
        x, y, z = self.grid
        return [(z, x, y)]

    def feature_shapes(self) -> list[tuple[int, int]]:
        x, y, z = self.grid
        return [(x * y * z, self.dim)]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        tokens = self.encoder(images.permute(0, 1, 3, 4, 2))
        b, _, c = tokens.shape
        x, y, z = self.grid
        # The reference: "b (x y z) c -> b c x y z" with the configured grid, then "b c x y z -> b (z x y) c".
        tokens = tokens.reshape(b, x, y, z, c).permute(0, 3, 1, 2, 4).reshape(b, -1, c)
        return [tokens]
