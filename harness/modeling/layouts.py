"""Checkpoint layouts other than the harness's own, declared by the zoo plugins that know them.

A model registration may map config.json ``model_type`` values to readers (metadata of `register_models`)::

    register("my-model", "my_plugin.zoo:my_model",
             checkpoint_layouts={"my_flat_type": "my_plugin.layouts:recipe_from_config"})

``recipe_from_config(raw, name)`` gets the folder's config.json as a dict and the folder's name, and returns
the `Recipe` it means, with the text model's fields inline as ``llm_options["config"]`` (so the architecture
is built without a download). The checkpoint's parameter names must already be the harness's; a reader maps
the config only. `harness.modeling.loading` reads such folders through it, and `harness.modeling.auto` gives
each declared ``model_type`` transformers Auto classes.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from harness import plugins
from harness.errors import HarnessError
from harness.recipe import Recipe

__all__ = ["LayoutReader", "declared_layouts", "layout_reader", "layout_recipe"]

LayoutReader = Callable[[dict[str, Any], str], Recipe]
"""``(raw config.json, folder name) -> Recipe``."""

METADATA_KEY = "checkpoint_layouts"


def declared_layouts() -> dict[str, tuple[str, str]]:
    """``model_type -> (reader "module:function", zoo model that declares it)`` over every installed model.

    Two models may declare the same reader; two different readers for one ``model_type`` are one line naming
    both."""
    found: dict[str, tuple[str, str]] = {}
    for entry in plugins.registry("models"):
        layouts = entry.metadata.get(METADATA_KEY) or {}
        if not isinstance(layouts, dict):
            raise HarnessError(f"model '{entry.name}' from plugin {entry.origin} declares {METADATA_KEY} "
                               f"{layouts!r}; give a dict of model_type -> 'module:function'")
        for model_type, reader in layouts.items():
            if model_type in found and found[model_type][0] != reader:
                raise HarnessError(
                    f"checkpoint model_type '{model_type}' is claimed by model '{found[model_type][1]}' "
                    f"({found[model_type][0]}) and by model '{entry.name}' ({reader}); uninstall or block one plugin"
                )
            found.setdefault(model_type, (str(reader), entry.name))
    return found


def layout_reader(model_type: str) -> LayoutReader | None:
    """The reader a plugin declared for ``model_type``, or None when no installed model declares it."""
    declared = declared_layouts().get(model_type)
    if declared is None:
        return None
    path, model = declared
    module_name, _, attribute = path.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise HarnessError(f"checkpoint layout '{model_type}' of model '{model}' cannot be loaded ({path}): "
                           f"{exc}") from exc


def layout_recipe(model_type: str, raw: dict[str, Any], name: str) -> Recipe:
    """The recipe a ``model_type`` config means (see the module docstring); raises when nobody reads it."""
    reader = layout_reader(model_type)
    if reader is None:
        raise HarnessError(f"no installed model reads checkpoints of model_type {model_type!r}")
    recipe = reader(raw, name)
    if not isinstance(recipe, Recipe):
        raise HarnessError(f"the reader of checkpoint model_type {model_type!r} returned {type(recipe).__name__}, "
                           f"not a harness Recipe")
    return recipe
