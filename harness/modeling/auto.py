"""transformers' Auto classes for every checkpoint layout, registered as soon as transformers is imported.

After ``import harness``, ``AutoConfig`` and ``AutoModelForCausalLM.from_pretrained`` read a harness
checkpoint (``model_type: "med3d_vlm"``) and a checkpoint in any layout an installed zoo plugin declares
(``checkpoint_layouts``, `harness.modeling.layouts`)::

    >>> import harness
    >>> from transformers import AutoModelForCausalLM
    >>> model = AutoModelForCausalLM.from_pretrained("/path/to/checkpoint")  # doctest: +SKIP

``import harness`` itself imports neither torch nor transformers (listing plugins stays fast): it calls
`register_when_transformers_loads`, which registers at once when transformers is already imported and
otherwise adds a post-import hook to ``sys.meta_path`` that registers right after transformers' own
``__init__`` ran. Registering imports torch and the model code (about what using transformers costs anyway)
and loads the plugins (their entry modules import nothing heavy). A harness module that imports transformers
itself registers the classes it defines when it finishes (``configuration.py``: the harness config;
``modeling.py``: the harness model). When a plugin's own import is what imports transformers, the layouts
cannot be read yet (the plugins are mid-load): they are registered on the next `register` call, which every
`harness.modeling.loading.resolve_source` (so every `harness.load_model`) makes.

Each declared layout gets a config class (a `VLMConfig` whose ``model_type`` is the layout's, built from the
flat config.json by the layout's reader) and a model class (`VLMForCausalLM` with that config class), made
once per ``model_type``, so what they save they read back.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

TARGET = "transformers"
BOOKKEEPING = {"name_or_path", "_name_or_path", "transformers_version", "model_type", "architectures",
               "torch_dtype", "dtype", "_attn_implementation", "attn_implementation", "return_unused_kwargs"}
"""Keys transformers may pass to a config class that carry no model: a config built from these alone is empty."""

_layout_classes: dict[str, tuple[type, type]] = {}


def register() -> None:
    """Register the harness config and model classes, and one pair per declared layout, with `AutoConfig` and
    `AutoModelForCausalLM`."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from harness.modeling.configuration import MODEL_TYPE, VLMConfig
    from harness.modeling.modeling import VLMForCausalLM

    AutoConfig.register(MODEL_TYPE, VLMConfig, exist_ok=True)
    AutoModelForCausalLM.register(VLMConfig, VLMForCausalLM, exist_ok=True)
    if _plugins_loading():
        return
    from harness.modeling.layouts import declared_layouts

    for model_type in declared_layouts():
        config_class, model_class = layout_classes(model_type)
        AutoConfig.register(model_type, config_class, exist_ok=True)
        AutoModelForCausalLM.register(config_class, model_class, exist_ok=True)


def layout_classes(model_type: str) -> tuple[type, type]:
    """The (config, model) classes of a declared layout, made on first use."""
    if model_type in _layout_classes:
        return _layout_classes[model_type]
    from harness.modeling.configuration import VLMConfig
    from harness.modeling.modeling import VLMForCausalLM

    def __init__(self: VLMConfig, **kwargs: Any) -> None:
        if "recipe" in kwargs or "text_config" in kwargs or not set(kwargs) - BOOKKEEPING:
            VLMConfig.__init__(self, **kwargs)  # already mapped (saved by this class), or transformers' empty one
            return
        from harness.modeling.assembly import model_config
        from harness.modeling.layouts import layout_recipe

        name = Path(str(kwargs.get("name_or_path") or kwargs.get("_name_or_path") or model_type)).name
        flat = model_config(layout_recipe(model_type, kwargs, name))
        VLMConfig.__init__(self, recipe=flat.recipe, text_config=flat.text_config, image_token_id=flat.image_token_id,
                           components=flat.components, name_or_path=str(kwargs.get("name_or_path", "")))

    stem = "".join(part.capitalize() for part in model_type.replace("-", "_").split("_"))
    doc = f"A ``{model_type}`` config.json read by its plugin's layout reader into a `VLMConfig`."
    config_class = type(f"{stem}LayoutConfig", (VLMConfig,),
                        {"model_type": model_type, "__init__": __init__, "__doc__": doc, "__module__": __name__})
    model_class = type(f"{stem}LayoutForCausalLM", (VLMForCausalLM,),
                       {"config_class": config_class, "__module__": __name__,
                        "__doc__": f"`VLMForCausalLM` for a ``{model_type}`` config (the parameter names are ours)."})
    _layout_classes[model_type] = (config_class, model_class)
    return config_class, model_class


def _plugins_loading() -> bool:
    """A plugin's import is under way (`harness.plugins` is loading them): reading the registry now would
    start a second load inside the first."""
    plugins = sys.modules.get("harness.plugins")
    if plugins is None:
        return False
    load_code = getattr(getattr(plugins, "_load", None), "__code__", None)
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is load_code:
            return True
        frame = frame.f_back
    return False


def _harness_module_initializing() -> bool:
    """A harness module is mid-import (it imported transformers itself): registering now would be circular, and
    the module registers what it defines when it finishes (configuration.py, modeling.py)."""
    return any(getattr(getattr(module, "__spec__", None), "_initializing", False)
               for name, module in list(sys.modules.items()) if name.startswith("harness."))


def _register_quietly() -> None:
    if _harness_module_initializing():
        return
    try:
        register()
    except Exception as exc:  # never break `import transformers` for the user; loading still works by harness
        warnings.warn(f"med3d-harness could not register its transformers Auto classes: {exc}", stacklevel=2)


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        if module.__spec__ is not None:  # hand the module its own loader back before anything else sees it
            module.__spec__.loader = self._loader
        sys.modules[module.__name__].__loader__ = self._loader
        _register_quietly()


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``transformers`` through the other finders and wraps its loader (used once, then removed)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def register_when_transformers_loads() -> None:
    if TARGET in sys.modules:
        _register_quietly()
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
