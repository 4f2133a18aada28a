"""Per-token projectors of Med3DVLM: ``linear``, ``mlp``, ``low_high_mlp`` and ``identity``.

Written from the reference code (mirthAI/Med3DVLM, ``src/model/projector/``) with its parameter names,
so that checkpoints load unchanged under ``model.mm_projector.``:

- ``linear``: one ``nn.Linear`` (``weight``, ``bias``).
- ``mlp``: ``mm_projector.0`` Linear, then ``depth - 1`` x ``mm_projector.i`` = [GELU, Linear].
- ``low_high_mlp``: ``low_up_mlp`` and ``high_up_mlp`` lift the two streams to ``out_dim``, the tokens are
  concatenated (low first), then ``depth - 1`` x [GELU, Linear] in ``mm_projector``.
- ``identity``: passes the single feature map through (its channels must equal ``out_dim``).

    >>> proj = MLPProjector(in_shapes=[(32, 768)], out_dim=3584, depth=2)
    >>> proj.num_tokens
    32
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import HarnessError
from harness_plugins.projectors._inputs import check_in_shapes, check_positive


class StackedMLP(nn.Module):
    """Linear(in, out) followed by ``depth - 1`` x [GELU, Linear(out, out)], in ``mm_projector``.

    The reference's ``MultiModalProjector``; the mixer uses it for its token and channel MLPs.
    """

    def __init__(self, input_size: int, output_size: int, depth: int) -> None:
        super().__init__()
        self.mm_projector = nn.Sequential(
            nn.Linear(input_size, output_size),
            *(nn.Sequential(nn.GELU(), nn.Linear(output_size, output_size)) for _ in range(depth - 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mm_projector(x)


class LinearProjector(nn.Linear):
    """``linear``: one Linear from the encoder channels to ``out_dim``."""

    def __init__(self, in_shapes: Sequence[Sequence[int]], out_dim: int) -> None:
        ((tokens, channels),) = check_in_shapes(in_shapes, "linear", 1)
        super().__init__(channels, check_positive(out_dim, "out_dim", "linear"))
        self.num_tokens = tokens

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        (x,) = features
        return super().forward(x)


class MLPProjector(StackedMLP):
    """``mlp``: a per-token MLP of ``depth`` Linear layers."""

    def __init__(self, in_shapes: Sequence[Sequence[int]], out_dim: int, depth: int = 2) -> None:
        ((tokens, channels),) = check_in_shapes(in_shapes, "mlp", 1)
        super().__init__(channels, check_positive(out_dim, "out_dim", "mlp"), check_positive(depth, "depth", "mlp"))
        self.num_tokens = tokens

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        (x,) = features
        return super().forward(x)


class LowHighMLP(nn.Module):
    """``low_high_mlp``: separate Linear lifts of the low and high streams, concatenated, then an MLP."""

    def __init__(self, in_shapes: Sequence[Sequence[int]], out_dim: int, depth: int = 2) -> None:
        super().__init__()
        (low_tokens, low_channels), (high_tokens, high_channels) = check_in_shapes(in_shapes, "low_high_mlp", 2)
        out_dim = check_positive(out_dim, "out_dim", "low_high_mlp")
        depth = check_positive(depth, "depth", "low_high_mlp")
        self.num_tokens = low_tokens + high_tokens
        self.low_up_mlp = nn.Linear(low_channels, out_dim)
        self.high_up_mlp = nn.Linear(high_channels, out_dim)
        layers: list[nn.Module] = []
        for _ in range(depth - 1):
            layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
        self.mm_projector = nn.Sequential(*layers)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        low, high = features
        x = torch.cat([self.low_up_mlp(low), self.high_up_mlp(high)], dim=1)
        return self.mm_projector(x)


class IdentityProjector(nn.Module):
    """``identity``: no parameters; the encoder's channels must already equal the LLM hidden size."""

    def __init__(self, in_shapes: Sequence[Sequence[int]], out_dim: int) -> None:
        super().__init__()
        ((tokens, channels),) = check_in_shapes(in_shapes, "identity", 1)
        if channels != out_dim:
            raise HarnessError(
                f"projector 'identity': the encoder gives {channels} channels but the LLM wants {out_dim}; "
                "use a projector that maps them (e.g. 'linear' or 'mlp')"
            )
        self.num_tokens = tokens

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        (x,) = features
        return x

