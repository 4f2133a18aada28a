"""transformers' Auto classes for both checkpoint layouts, registered as soon as transformers is imported.

After ``import harness``, ``AutoConfig`` and ``AutoModelForCausalLM.from_pretrained`` read a harness
checkpoint (``model_type: "med3d_vlm"``) and a published Med3DVLM one (``model_type: "vlm_qwen"``)::

    >>> import harness
    >>> from transformers import AutoModelForCausalLM
    >>> model = AutoModelForCausalLM.from_pretrained("/path/to/Med3DVLM-Qwen-2.5-7B-FLARE2025")  # doctest: +SKIP

``import harness`` itself imports neither torch nor transformers (listing plugins stays fast): it calls
`register_when_transformers_loads`, which registers at once when transformers is already imported and
otherwise adds a post-import hook to ``sys.meta_path`` that registers right after transformers' own
``__init__`` ran. Registering imports torch and the model code (about what using transformers costs anyway).
A harness module that imports transformers itself registers the classes it defines when it finishes
(``configuration.py``: the harness config; ``modeling.py``: the harness model; ``published.py``: both
``vlm_qwen`` classes).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any

TARGET = "transformers"


def register() -> None:
    """Register both config classes with `AutoConfig` and both model classes with `AutoModelForCausalLM`."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from harness.modeling.configuration import MODEL_TYPE, Med3DVLMConfig
    from harness.modeling.modeling import Med3DVLMForCausalLM
    from harness.modeling.published import (
        PUBLISHED_MODEL_TYPE,
        PublishedMed3DVLMConfig,
        PublishedMed3DVLMForCausalLM,
    )

    AutoConfig.register(MODEL_TYPE, Med3DVLMConfig, exist_ok=True)
    AutoConfig.register(PUBLISHED_MODEL_TYPE, PublishedMed3DVLMConfig, exist_ok=True)
    AutoModelForCausalLM.register(Med3DVLMConfig, Med3DVLMForCausalLM, exist_ok=True)
    AutoModelForCausalLM.register(PublishedMed3DVLMConfig, PublishedMed3DVLMForCausalLM, exist_ok=True)


def _harness_module_initializing() -> bool:
    """A harness module is mid-import (it imported transformers itself): registering now would be circular, and
    the module registers what it defines when it finishes (configuration.py, modeling.py, published.py)."""
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
