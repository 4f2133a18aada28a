"""Option checks shared by the built-in encoders: input size, which stages to return, which tokens to keep.

The options mirror the reference code's vision-tower config fields:

- ``select_layer``: ``0`` returns every stage; ``-k`` returns the last ``k`` stages (Med3DVLM: ``-2``).
- ``select_feature``: ``"cls_patch"`` keeps every token; ``"patch"`` drops the class token of encoders
  that emit one (an encoder without a class token returns the same tokens for both).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import HarnessError

SELECT_FEATURES = ("patch", "cls_patch")


def check_input_size(input_size: Sequence[int], encoder: str) -> tuple[int, int, int]:
    """``input_size`` as a (D, H, W) tuple of positive ints, or a one-line error naming the encoder."""
    try:
        size = tuple(int(n) for n in input_size)
    except (TypeError, ValueError):
        size = ()
    if len(size) != 3 or min(size) <= 0:
        raise HarnessError(f"encoder '{encoder}': input_size must be three positive ints (D, H, W), got {input_size!r}")
    return size  # type: ignore[return-value]


def selected_stages(select_layer: int, stages: Sequence[str], encoder: str) -> list[int]:
    """Indices into ``stages`` chosen by ``select_layer``."""
    n = len(stages)
    if select_layer == 0:
        return list(range(n))
    if -n <= select_layer < 0:
        return list(range(n + select_layer, n))
    raise HarnessError(
        f"encoder '{encoder}': select_layer={select_layer} is out of range; use 0 (all of {list(stages)}) "
        f"or -1..-{n} (the last k stages)"
    )


def check_select_feature(select_feature: str, encoder: str) -> str:
    if select_feature not in SELECT_FEATURES:
        raise HarnessError(
            f"encoder '{encoder}': select_feature={select_feature!r} is unknown; use one of {list(SELECT_FEATURES)}"
        )
    return select_feature
