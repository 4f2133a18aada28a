"""``spp``: M3D-LaMed's spatial pooling projector (BAAI-DCAI/M3D, ``SpatialPoolingProjector``).

Average-pools the token grid, then maps each token with a small per-token network (``projector.i``,
the reference's parameter names, under ``model.mm_projector.`` in an M3D checkpoint):

- ``pooling_type="spatial"``: the tokens are read as the encoder's 3-D ``grid`` (in token order) and
  pooled with ``avg_pool3d(pooling_size)``; M3D: 8 x 16 x 16 patches -> 4 x 8 x 8 = 256 tokens.
- ``pooling_type="sequence"``: 1-D average pooling of ``pooling_size ** 3`` consecutive tokens.
- ``layer_type="mlp"``: Linear then ``layer_num - 1`` x [GELU, Linear]; ``"linear"``: ``layer_num``
  Linear layers with no activation.

The reference derives the grid from its image and patch sizes; here the assembly passes the
encoder's ``feature_grids()[0]`` as ``grid``, so any encoder with a spatial token grid works.

    >>> SPPProjector([(2048, 768)], out_dim=3072, grid=(8, 16, 16)).num_tokens
    256
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness_plugins.projectors._inputs import check_in_shapes, check_positive

POOLING_TYPES = ("spatial", "sequence")
LAYER_TYPES = ("mlp", "linear")


class SPPProjector(nn.Module):
    """``factory(in_shapes=[(n, c)], out_dim, grid=(g1, g2, g3), ...) -> (B, num_tokens, out_dim)``."""

    def __init__(
        self,
        in_shapes: Sequence[Sequence[int]],
        out_dim: int,
        *,
        grid: Sequence[int] | None = None,
        pooling_type: str = "spatial",
        pooling_size: int = 2,
        layer_type: str = "mlp",
        layer_num: int = 2,
    ) -> None:
        super().__init__()
        ((tokens, channels),) = check_in_shapes(in_shapes, "spp", 1)
        out_dim = check_positive(out_dim, "out_dim", "spp")
        self.pooling_size = check_positive(pooling_size, "pooling_size", "spp")
        layer_num = check_positive(layer_num, "layer_num", "spp")
        if pooling_type not in POOLING_TYPES:
            raise HarnessError(f"projector 'spp': pooling_type {pooling_type!r} is unknown; use one of {POOLING_TYPES}")
        if layer_type not in LAYER_TYPES:
            raise HarnessError(f"projector 'spp': layer_type {layer_type!r} is unknown; use one of {LAYER_TYPES}")
        self.pooling_type = pooling_type
        if pooling_type == "spatial":
            self.grid = self._check_grid(grid, tokens)
            pooled = [n // self.pooling_size for n in self.grid]
            self.num_tokens = pooled[0] * pooled[1] * pooled[2]
        else:
            self.num_tokens = tokens // self.pooling_size**3
        if self.num_tokens == 0:
            raise HarnessError(f"projector 'spp': pooling_size {pooling_size} leaves no tokens of {tokens}")
        layers: list[nn.Module] = [nn.Linear(channels, out_dim)]
        for _ in range(layer_num - 1):
            layers += [nn.GELU(), nn.Linear(out_dim, out_dim)] if layer_type == "mlp" else [nn.Linear(out_dim, out_dim)]
        self.projector = nn.Sequential(*layers)

    @staticmethod
    def _check_grid(grid: Sequence[int] | None, tokens: int) -> tuple[int, int, int]:
        if grid is None:
            raise HarnessError(
                "projector 'spp': spatial pooling needs the encoder's token grid; pass grid=(g1, g2, g3) "
                "(the encoder's feature_grids()[0]) or pooling_type='sequence'"
            )
        dims = tuple(int(n) for n in grid)
        if len(dims) != 3 or dims[0] * dims[1] * dims[2] != tokens:
            raise HarnessError(f"projector 'spp': grid {tuple(grid)} does not hold the encoder's {tokens} tokens")
        return dims  # type: ignore[return-value]

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        (x,) = features
        b, n, c = x.shape
        if self.pooling_type == "spatial":
            x = x.transpose(1, 2).reshape(b, c, *self.grid)
            x = F.avg_pool3d(x, kernel_size=self.pooling_size, stride=self.pooling_size)
            x = x.reshape(b, c, -1).transpose(1, 2)
        else:
            size = self.pooling_size**3
            x = F.avg_pool1d(x.transpose(1, 2), kernel_size=size, stride=size).transpose(1, 2)
        return self.projector(x)
