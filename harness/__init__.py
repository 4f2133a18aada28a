"""med3d-harness: a plugin-based benchmark harness and model zoo for 3D medical VLMs.

    >>> import harness
    >>> model = harness.load_model("ZOO_NAME")   # a name from `harness list models`  # doctest: +SKIP
    >>> ids = model.generate(input_ids=ids, images=volume)        # doctest: +SKIP

Heavy modules (torch, transformers) are imported only when a model is built, so importing
``harness`` and listing plugins stays fast. Once transformers is imported (by you or by the harness),
its Auto classes know the harness checkpoint layout and every layout an installed zoo plugin declares
(`harness.modeling.auto`), so ``transformers.AutoModelForCausalLM.from_pretrained(folder)`` loads either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.hookspecs import hookimpl
from harness.modeling.auto import register_when_transformers_loads

__version__ = "0.1.0"

__all__ = ["__version__", "build_model", "hookimpl", "load_model"]

if TYPE_CHECKING:
    from transformers import PreTrainedModel

register_when_transformers_loads()


def load_model(name_or_path: str, *, dtype: Any = None, device: Any = None) -> PreTrainedModel:
    """Load trained weights: a zoo name, a local checkpoint (harness layout or a plugin's) or a hub id."""
    from harness.modeling.loading import load_model as _load

    return _load(name_or_path, dtype=dtype, device=device)


def build_model(name: str, **overrides: Any) -> PreTrainedModel:
    """The architecture of a zoo recipe with fresh weights and no download (meta-device friendly)."""
    from harness.modeling.loading import build_model as _build

    return _build(name, **overrides)
