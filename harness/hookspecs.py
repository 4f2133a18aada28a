"""The hooks a plugin implements. Each receives a ``register(name, factory, **metadata)`` callback.

``factory`` is a callable or a lazy ``"module:attribute"`` string, imported on first use so that
``harness list`` never imports torch or builds a model. ``metadata`` is free-form; ``description``
is shown by ``harness list``.

What each factory returns is the component contract, documented in docs/plugins.md.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("harness")
hookimpl = pluggy.HookimplMarker("harness")


@hookspec
def register_encoders(register):
    """Register 3D vision encoders: ``factory(input_size=(D, H, W), **options) -> nn.Module``."""


@hookspec
def register_projectors(register):
    """Register projectors: ``factory(in_shapes=[(tokens, channels), ...], out_dim=H, **options)``."""


@hookspec
def register_llms(register):
    """Register LLM backends: ``factory(**options)`` returns an object with ``id``, ``config()``,
    ``build(config)``, ``load(dtype, device)`` and ``tokenizer()``."""


@hookspec
def register_tasks(register):
    """Register benchmark tasks: ``factory(**options) -> Task``."""


@hookspec
def register_models(register):
    """Register zoo recipes: ``factory(**overrides) -> harness.recipe.Recipe``."""


@hookspec
def register_judges(register):
    """Register GREEN judges: ``factory(**options)`` returns an object with ``id: str`` and
    ``complete(prompts: list[str]) -> list[str]``."""
