"""DCFormer: the decomposed-convolution 3D encoder that Med3DVLM uses as its vision tower.

Written from the reference code (mirthAI/Med3DVLM, branch FLARE_2025, ``src/model/encoder/dcformer.py``)
so that its checkpoints load unchanged: the module's ``state_dict`` keys are the reference's
(``encoder.s0.0.0.c1.0.weight`` ...), which sit under ``model.vision_tower.vision_tower.`` in a
Med3DVLM checkpoint.

    >>> enc = dcformer_small(input_size=(128, 256, 256))          # Med3DVLM's tower
    >>> enc.feature_shapes()                                      # s3 and s4 tokens
    [(256, 384), (32, 768)]

Layout of the network (the input (B, 1, D, H, W) is first permuted to (B, 1, H, W, D)):

- ``s0``, the stem: decomposed conv 7 with stride 4, then three decomposed convs 3. The reference
  passes ``nn.GELU()`` in the slot of the ``norm`` flag, so every stem conv has BatchNorm and none has an
  activation. The published weights were trained that way, so it is kept.
- ``s1``..``s4``: blocks of a depthwise decomposed conv (kernels 13, 11, 9, 7), a channels-last MLP
  (4x, exact GELU), a per-channel layer scale and a residual. A stage's first block downsamples with
  MaxPool3d(3, 2, 1) and a bias-free 1x1x1 conv to the new width.
- Each selected stage output (B, C, h, w, t) becomes (B, t, h, w, C), flattened to (B, t*h*w, C).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import HarnessError
from harness_plugins.encoders._features import check_input_size, check_select_feature, selected_stages

SIZES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    # size: (channels of s0..s4, blocks of s0..s4)
    "nano": ((32, 32, 64, 128, 256), (1, 1, 1, 1, 1)),
    "naive": ((32, 64, 128, 256, 512), (1, 2, 2, 2, 2)),
    "tiny": ((64, 96, 192, 384, 768), (1, 2, 3, 3, 2)),
    "small": ((64, 96, 192, 384, 768), (1, 2, 3, 6, 2)),
    "base": ((64, 128, 256, 512, 1024), (1, 2, 6, 6, 2)),
    "large": ((64, 256, 512, 1024, 2048), (1, 2, 6, 12, 2)),
}
KERNEL_SIZES = (13, 11, 9, 7)
"""Depthwise kernel of the blocks of s1..s4."""
STAGES = ("s0", "s1", "s2", "s3", "s4")
STEM_STRIDE = 4
MLP_RATIO = 4
LAYER_SCALE_INIT = 1e-6


class DecomposedConv3d(nn.Module):
    """Three 1-D convolutions along each axis (``c1``, ``c2``, ``c3``: conv then BatchNorm), summed."""

    def __init__(self, in_dim: int, out_dim: int, kernel_size: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        pad = kernel_size // 2
        for index, name in enumerate(("c1", "c2", "c3")):
            kernel = [1, 1, 1]
            padding = [0, 0, 0]
            kernel[index], padding[index] = kernel_size, pad
            conv = nn.Conv3d(in_dim, out_dim, tuple(kernel), stride=stride, padding=tuple(padding), groups=groups)
            self.add_module(name, nn.Sequential(conv, nn.BatchNorm3d(out_dim)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c1(x) + self.c2(x) + self.c3(x)


def decomposed_stem(in_dim: int, out_dim: int) -> nn.Sequential:
    """Stride-4 decomposed conv 7 then three decomposed convs 3, all without activation (see module docstring)."""
    return nn.Sequential(
        DecomposedConv3d(in_dim, out_dim, 7, stride=STEM_STRIDE),
        DecomposedConv3d(out_dim, out_dim, 3),
        DecomposedConv3d(out_dim, out_dim, 3),
        DecomposedConv3d(out_dim, out_dim, 3),
    )


class ChannelMLP(nn.Module):
    """Linear -> GELU -> Dropout -> Linear -> Dropout on the last axis (``mlp.0`` and ``mlp.3`` hold weights)."""

    def __init__(self, dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden_dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


class ConvBlock(nn.Module):
    """Depthwise decomposed conv -> channels-last MLP -> layer scale -> residual (optionally downsampling first)."""

    def __init__(self, in_dim: int, out_dim: int, kernel_size: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        if downsample:
            self.pool = nn.MaxPool3d(3, 2, 1)
            self.proj = nn.Conv3d(in_dim, out_dim, 1, 1, 0, bias=False)
        self.dwconv = DecomposedConv3d(out_dim, out_dim, kernel_size, groups=out_dim)
        self.mlp = ChannelMLP(out_dim, out_dim * MLP_RATIO)
        self.scale = nn.Parameter(torch.full((out_dim,), LAYER_SCALE_INIT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample:
            x = self.proj(self.pool(x))
        y = self.dwconv(x).permute(0, 2, 3, 4, 1)
        y = self.scale * self.mlp(y)
        return x + y.permute(0, 4, 1, 2, 3)


class DCFormerBackbone(nn.Module):
    """The five stages ``s0``..``s4`` (the reference's ``Encoder``); returns every stage output, channels first."""

    def __init__(self, in_channels: int, channels: Sequence[int], blocks: Sequence[int]) -> None:
        super().__init__()
        # As in the reference, every stem block (all sizes have one) downsamples by 4.
        self.s0 = nn.Sequential(
            *(decomposed_stem(in_channels if i == 0 else channels[0], channels[0]) for i in range(blocks[0]))
        )
        for stage in range(1, 5):
            inp, out, kernel = channels[stage - 1], channels[stage], KERNEL_SIZES[stage - 1]
            layers = [ConvBlock(inp if i == 0 else out, out, kernel, downsample=i == 0) for i in range(blocks[stage])]
            self.add_module(STAGES[stage], nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for name in STAGES:
            x = getattr(self, name)(x)
            outputs.append(x)
        return outputs


class DCFormer(nn.Module):
    """Encoder contract: ``forward(images (B, 1, D, H, W)) -> [ (B, N_i, C_i) ]`` for the selected stages.

    ``select_layer``: ``-2`` (Med3DVLM) returns s3 and s4, ``-1`` s4 alone, ``0`` all five stages.
    ``select_feature``: ``"cls_patch"`` or ``"patch"``; DCFormer has no class token, so both keep every token.
    """

    def __init__(
        self,
        size: str = "small",
        input_size: Sequence[int] = (128, 256, 256),
        *,
        select_layer: int = -2,
        select_feature: str = "cls_patch",
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        if size not in SIZES:
            raise HarnessError(f"encoder 'dcformer': unknown size {size!r}; use one of {list(SIZES)}")
        name = f"dcformer-{size}"
        self.size = size
        self.input_size = check_input_size(input_size, name)
        self.stages = list(STAGES)
        self.select = selected_stages(select_layer, self.stages, name)
        self.select_feature = check_select_feature(select_feature, name)
        channels, blocks = SIZES[size]
        self.channels = list(channels)
        self.encoder = DCFormerBackbone(in_channels, channels, blocks)

    def stage_grids(self) -> list[tuple[int, int, int]]:
        """Spatial size (h, w, t) of every stage output for ``input_size``, i.e. (H, W, D) after the permute."""
        depth, height, width = self.input_size
        grid = (height, width, depth)
        stem_blocks = len(self.encoder.s0)
        grids = []
        for stage in range(5):
            if stage == 0:
                for _ in range(stem_blocks):  # kernel k, padding k // 2, stride 4
                    grid = tuple((n - 1) // STEM_STRIDE + 1 for n in grid)
            else:  # MaxPool3d(3, stride 2, padding 1)
                grid = tuple((n - 1) // 2 + 1 for n in grid)
            grids.append(grid)
        return grids  # type: ignore[return-value]

    def feature_grids(self) -> list[tuple[int, int, int]]:
        """Token grid (t, h, w) of each returned feature map, in the order its tokens are flattened."""
        grids = self.stage_grids()
        return [(grids[i][2], grids[i][0], grids[i][1]) for i in self.select]

    def feature_shapes(self) -> list[tuple[int, int]]:
        """(tokens, channels) of each returned feature map for ``input_size``, without a forward pass."""
        return [(t * h * w, self.channels[i]) for i, (t, h, w) in zip(self.select, self.feature_grids(), strict=True)]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        hidden = self.encoder(images.permute(0, 1, 3, 4, 2))
        features = []
        for i in self.select:
            x = hidden[i].permute(0, 4, 2, 3, 1)  # (B, C, h, w, t) -> (B, t, h, w, C)
            features.append(x.reshape(x.shape[0], -1, x.shape[-1]))
        return features


def dcformer_nano(input_size: Sequence[int] = (128, 256, 256), **options) -> DCFormer:
    return DCFormer("nano", input_size, **options)


def dcformer_naive(input_size: Sequence[int] = (128, 256, 256), **options) -> DCFormer:
    return DCFormer("naive", input_size, **options)


def dcformer_tiny(input_size: Sequence[int] = (128, 256, 256), **options) -> DCFormer:
    return DCFormer("tiny", input_size, **options)


def dcformer_small(input_size: Sequence[int] = (128, 256, 256), **options) -> DCFormer:
    """Med3DVLM's vision tower."""
    return DCFormer("small", input_size, **options)


def dcformer_base(input_size: Sequence[int] = (128, 256, 256), **options) -> DCFormer:
    return DCFormer("base", input_size, **options)


def dcformer_large(input_size: Sequence[int] = (128, 256, 256), **options) -> DCFormer:
    return DCFormer("large", input_size, **options)
