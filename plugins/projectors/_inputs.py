"""Checks of the sizes every projector factory receives: ``in_shapes`` from the encoder and ``out_dim``."""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import HarnessError


def check_in_shapes(in_shapes: Sequence[Sequence[int]], projector: str, count: int) -> list[tuple[int, int]]:
    """``in_shapes`` as ``count`` (tokens, channels) pairs of positive ints, or a one-line error.

    ``count`` is how many feature maps the projector consumes; the encoder option ``select_layer``
    decides how many it returns, so the message points there.
    """
    try:
        shapes = [(int(n), int(c)) for n, c in in_shapes]
    except (TypeError, ValueError):
        raise HarnessError(
            f"projector '{projector}': in_shapes must be a list of (tokens, channels) pairs, got {in_shapes!r}"
        ) from None
    if any(n <= 0 or c <= 0 for n, c in shapes):
        raise HarnessError(f"projector '{projector}': in_shapes must be positive, got {shapes}")
    if len(shapes) != count:
        raise HarnessError(
            f"projector '{projector}' takes {count} feature map(s) but the encoder gives {len(shapes)} ({shapes}); "
            f"set the encoder option select_layer=-{count}"
        )
    return shapes


def check_positive(value: int, name: str, projector: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise HarnessError(f"projector '{projector}': {name} must be a positive int, got {value!r}")
    return value
