"""``mixer``: Med3DVLM's dual-stream MLP-Mixer projector (the reference's ``MixerLowHighHybridMLP``).

Written from the reference code (mirthAI/Med3DVLM, ``src/model/projector/mlp.py``) with its parameter
names (``low_mixer.0.ln1.weight``, ``low_mixer.0.mlp1.mm_projector.0.weight`` ...), which sit under
``model.mm_projector.`` in a Med3DVLM checkpoint.

The low stream (the earlier, finer feature map) and the high stream (the last one) each pass through
``len(low_output_size)`` mixer layers; the outputs are concatenated along tokens, low first. A mixer
layer has no residual connections:

    LayerNorm(c) -> token MLP (on the transposed map, n -> n') -> LayerNorm(c) -> channel MLP (c -> c')

Layer ``i`` of ``depth`` maps channels to ``out_dim // 2 ** (depth - i - 1)`` (Med3DVLM: 384 -> 1792 ->
3584) and tokens to ``low_output_size[i]`` / ``high_output_size[i]`` (256 -> 192 -> 128 and 32 -> 64 ->
128), so it yields ``low_output_size[-1] + high_output_size[-1]`` tokens. The reference hard-codes the
input sizes (256, 384) and (32, 768); here they come from ``in_shapes``, so any encoder input size
works, and smaller token targets give fewer visual tokens:

    >>> proj = MixerProjector([(256, 384), (32, 768)], out_dim=3584)
    >>> proj.num_tokens
    256
    >>> MixerProjector([(16, 96), (2, 192)], out_dim=64, low_output_size=[24, 16], high_output_size=[16, 16]).num_tokens
    32
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import HarnessError
from harness_plugins.projectors._inputs import check_in_shapes, check_positive
from harness_plugins.projectors.mlp import StackedMLP

LOW_OUTPUT_SIZE = (192, 128)
HIGH_OUTPUT_SIZE = (64, 128)


class MixerLayer(nn.Module):
    """Token MLP then channel MLP, each after a LayerNorm over the input channels."""

    def __init__(self, input_size: tuple[int, int], output_size: tuple[int, int], mlp_depth: int) -> None:
        super().__init__()
        tokens, channels = input_size
        self.ln1 = nn.LayerNorm(channels)
        self.ln2 = nn.LayerNorm(channels)
        self.mlp1 = StackedMLP(tokens, output_size[0], mlp_depth)
        self.mlp2 = StackedMLP(channels, output_size[1], mlp_depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mlp1(self.ln1(x).transpose(1, 2)).transpose(1, 2)
        return self.mlp2(self.ln2(x))


def _stream(in_shape: tuple[int, int], token_sizes: Sequence[int], out_dim: int, mlp_depth: int) -> nn.ModuleList:
    depth = len(token_sizes)
    layers = []
    size = in_shape
    for i, tokens in enumerate(token_sizes):
        out = (tokens, out_dim // 2 ** (depth - i - 1))
        layers.append(MixerLayer(size, out, mlp_depth))
        size = out
    return nn.ModuleList(layers)


class MixerProjector(nn.Module):
    """``factory(in_shapes=[(n_low, c_low), (n_high, c_high)], out_dim, ...) -> (B, num_tokens, out_dim)``.

    ``low_output_size`` / ``high_output_size``: the token count after each mixer layer of each stream
    (equal lengths; their length is the number of layers). ``mlp_depth``: Linear layers per MLP.
    """

    def __init__(
        self,
        in_shapes: Sequence[Sequence[int]],
        out_dim: int,
        *,
        low_output_size: Sequence[int] = LOW_OUTPUT_SIZE,
        high_output_size: Sequence[int] = HIGH_OUTPUT_SIZE,
        mlp_depth: int = 2,
    ) -> None:
        super().__init__()
        low_in, high_in = check_in_shapes(in_shapes, "mixer", 2)
        out_dim = check_positive(out_dim, "out_dim", "mixer")
        mlp_depth = check_positive(mlp_depth, "mlp_depth", "mixer")
        low_sizes = [check_positive(n, "low_output_size", "mixer") for n in low_output_size]
        high_sizes = [check_positive(n, "high_output_size", "mixer") for n in high_output_size]
        depth = len(low_sizes)
        if depth == 0 or len(high_sizes) != depth:
            raise HarnessError(
                f"projector 'mixer': low_output_size {low_sizes} and high_output_size {high_sizes} must be "
                "non-empty and of equal length (one token count per mixer layer)"
            )
        if out_dim % 2**depth:
            raise HarnessError(
                f"projector 'mixer': out_dim {out_dim} must be divisible by 2**{depth} for {depth} mixer layers"
            )
        self.num_tokens = low_sizes[-1] + high_sizes[-1]
        self.low_mixer = _stream(low_in, low_sizes, out_dim, mlp_depth)
        self.high_mixer = _stream(high_in, high_sizes, out_dim, mlp_depth)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        low, high = features
        for low_layer, high_layer in zip(self.low_mixer, self.high_mixer, strict=True):
            low = low_layer(low)
            high = high_layer(high)
        return torch.cat([low, high], dim=1)
