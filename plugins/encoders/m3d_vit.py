"""``m3d-vit``: the 3D ViT of M3D-LaMed (BAAI-DCAI/M3D), the vision backbone of the FLARE 2025 baseline.

M3D builds it from MONAI blocks (``PatchEmbeddingBlock`` with perceptron patches and learned positions,
``TransformerBlock``), with a zero-initialised class token and a final LayerNorm. This file writes the
same network in plain torch with MONAI's parameter names (``patch_embedding.patch_embeddings.1.weight``,
``patch_embedding.position_embeddings``, ``blocks.0.attn.qkv.weight``, ``blocks.0.mlp.linear1.weight``,
``norm.weight``, ``cls_token``), so M3D checkpoints load unchanged under ``model.vision_tower.vision_tower.``.

    >>> enc = M3DViT(input_size=(32, 256, 256))        # patches 4 x 16 x 16
    >>> enc.feature_shapes()                            # "patch" drops the class token
    [(2048, 768)]

Unlike Med3DVLM's towers, the volume is not permuted: patches are cut from (D, H, W) as given and the
tokens follow (D/pd, H/ph, W/pw) order. As in M3D, the returned tokens are the final, normed output
(one stage, ``select_layer=-1``); ``select_feature="patch"`` (M3D's setting) drops the class token.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import HarnessError
from harness_plugins.encoders._features import check_input_size, check_select_feature, selected_stages


class PatchFlatten(nn.Module):
    """(B, C, D, H, W) -> (B, n_patches, pd*ph*pw*C): patches in (D, H, W) order, flattened as (p1 p2 p3 c)."""

    def __init__(self, patch_size: tuple[int, int, int]) -> None:
        super().__init__()
        self.patch_size = patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, *dims = x.shape
        (gd, gh, gw), (pd, ph, pw) = (n // p for n, p in zip(dims, self.patch_size, strict=True)), self.patch_size
        x = x.reshape(b, c, gd, pd, gh, ph, gw, pw).permute(0, 2, 4, 6, 3, 5, 7, 1)
        return x.reshape(b, gd * gh * gw, pd * ph * pw * c)


class PatchEmbedding(nn.Module):
    """MONAI's ``PatchEmbeddingBlock`` with ``proj_type="perceptron"`` and learned positions."""

    def __init__(
        self, in_channels: int, grid: tuple[int, int, int], patch_size: tuple[int, int, int], hidden_size: int
    ) -> None:
        super().__init__()
        patch_dim = in_channels * patch_size[0] * patch_size[1] * patch_size[2]
        self.patch_embeddings = nn.Sequential(PatchFlatten(patch_size), nn.Linear(patch_dim, hidden_size))
        self.position_embeddings = nn.Parameter(torch.zeros(1, grid[0] * grid[1] * grid[2], hidden_size))
        self.dropout = nn.Dropout(0.0)
        nn.init.trunc_normal_(self.position_embeddings, std=0.02, a=-2.0, b=2.0)
        nn.init.trunc_normal_(self.patch_embeddings[1].weight, std=0.02, a=-2.0, b=2.0)
        nn.init.zeros_(self.patch_embeddings[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.patch_embeddings(x) + self.position_embeddings)


class SelfAttention(nn.Module):
    """MONAI's ``SABlock``: one ``qkv`` Linear (no bias), features laid out as (qkv, heads, head_dim)."""

    def __init__(self, hidden_size: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (hidden_size // num_heads) ** -0.5
        self.qkv = nn.Linear(hidden_size, hidden_size * 3, bias=False)
        self.out_proj = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        attn = (torch.einsum("bhxd,bhyd->bhxy", q, k) * self.scale).softmax(dim=-1)
        out = torch.einsum("bhxy,bhyd->bhxd", attn, v).transpose(1, 2).reshape(b, n, c)
        return self.out_proj(out)


class MLP(nn.Module):
    """MONAI's ``MLPBlock``: ``linear1``, exact GELU, ``linear2``."""

    def __init__(self, hidden_size: int, mlp_dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(hidden_size, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, hidden_size)
        self.fn = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.fn(self.linear1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, hidden_size: int, mlp_dim: int, num_heads: int) -> None:
        super().__init__()
        self.mlp = MLP(hidden_size, mlp_dim)
        self.norm1 = nn.LayerNorm(hidden_size)
        self.attn = SelfAttention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class M3DViT(nn.Module):
    """Encoder contract: ``forward(images (B, 1, D, H, W)) -> [(B, N, hidden_size)]``."""

    def __init__(
        self,
        input_size: Sequence[int] = (32, 256, 256),
        *,
        patch_size: Sequence[int] = (4, 16, 16),
        hidden_size: int = 768,
        mlp_dim: int = 3072,
        num_layers: int = 12,
        num_heads: int = 12,
        in_channels: int = 1,
        select_layer: int = -1,
        select_feature: str = "patch",
    ) -> None:
        super().__init__()
        self.input_size = check_input_size(input_size, "m3d-vit")
        patch = tuple(int(p) for p in patch_size)
        if len(patch) != 3 or any(p <= 0 or n % p for n, p in zip(self.input_size, patch, strict=True)):
            raise HarnessError(
                f"encoder 'm3d-vit': input_size {self.input_size} must be divisible by patch_size {tuple(patch_size)}"
            )
        if hidden_size % num_heads:
            raise HarnessError(
                f"encoder 'm3d-vit': hidden_size {hidden_size} must be divisible by num_heads {num_heads}"
            )
        self.stages = ["norm"]
        self.select = selected_stages(select_layer, self.stages, "m3d-vit")
        self.select_feature = check_select_feature(select_feature, "m3d-vit")
        self.hidden_size = hidden_size
        self.grid = tuple(n // p for n, p in zip(self.input_size, patch, strict=True))
        self.patch_embedding = PatchEmbedding(in_channels, self.grid, patch, hidden_size)  # type: ignore[arg-type]
        self.blocks = nn.ModuleList(TransformerBlock(hidden_size, mlp_dim, num_heads) for _ in range(num_layers))
        self.norm = nn.LayerNorm(hidden_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden_size))

    def feature_grids(self) -> list[tuple[int, int, int]]:
        """Token grid (D/pd, H/ph, W/pw) of the patch tokens, in token order (class token excluded)."""
        return [self.grid]  # type: ignore[list-item]

    def feature_shapes(self) -> list[tuple[int, int]]:
        d, h, w = self.grid
        return [(d * h * w + (self.select_feature == "cls_patch"), self.hidden_size)]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embedding(images)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return [x[:, 1:] if self.select_feature == "patch" else x]

