"""Plugin discovery and loading (pluggy project ``"harness"``).

Plugins come from three places, in this order:

1. entry points of the group ``harness`` (the built-ins are registered the same way);
2. ``HARNESS_PLUGINS=mod1,mod2`` (import paths);
3. ``-p MODULE`` on the command line (``configure(modules=[...])``).

``-p no:NAME`` (``configure(blocked=[...])``) blocks an entry point by its name, module or
distribution. ``HARNESS_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the built-in entry points.

Every plugin is imported, validated (``check_pending``) and asked to register inside its own guard:
one that fails is recorded in :func:`plugin_infos`, reported with a one-line warning and skipped,
so a broken plugin never takes the CLI down. ``HARNESS_STRICT_PLUGINS=1`` makes it fatal.

    >>> from harness import plugins
    >>> plugins.registry("models").names()          # doctest: +SKIP
    ['med3dvlm', 'med3dvlm-demo', ...]
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

import pluggy

from harness import hookspecs
from harness.errors import PluginError
from harness.registry import KINDS, Registry

OWN_DISTRIBUTION = "med3d-harness"
ENTRY_POINT_GROUP = "harness"


@dataclass
class PluginInfo:
    """What `harness plugins` shows about one plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    source: str = "entry point"  # "entry point" | "HARNESS_PLUGINS" | "-p" | "in-process"
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    blocked: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _State:
    manager: pluggy.PluginManager
    registries: dict[str, Registry]
    infos: list[PluginInfo]


_extra_modules: list[str] = []
_blocked: set[str] = set()
_in_process: list[tuple[str, object]] = []
_state: _State | None = None


def configure(modules: Iterable[str] = (), blocked: Iterable[str] = ()) -> None:
    """Set the ``-p`` options before the first lookup (the CLI calls this once)."""
    global _state
    _extra_modules[:] = list(modules)
    _blocked.clear()
    _blocked.update(blocked)
    _state = None


def reset() -> None:
    """Forget everything loaded, so the next lookup rediscovers plugins (for tests)."""
    global _state
    _state = None


def registry(kind: str) -> Registry:
    """The registry of one kind: ``encoders``, ``projectors``, ``llms``, ``tasks``, ``models`` or ``judges``."""
    if kind not in KINDS:
        raise PluginError(f"unknown component kind '{kind}'; kinds are: {', '.join(KINDS)}")
    return _load().registries[kind]


def plugin_infos() -> list[PluginInfo]:
    return list(_load().infos)


def plugin_manager() -> pluggy.PluginManager:
    return _load().manager


@contextlib.contextmanager
def temporary_plugin(plugin: object, name: str = "test-plugin") -> Iterator[None]:
    """Register an in-process plugin object for the duration of a ``with`` block."""
    global _state
    _in_process.append((name, plugin))
    _state = None
    try:
        yield
    finally:
        _in_process.remove((name, plugin))
        _state = None


def _strict() -> bool:
    return os.environ.get("HARNESS_STRICT_PLUGINS", "").lower() in {"1", "true", "yes"}


def _autoload_disabled() -> bool:
    return os.environ.get("HARNESS_DISABLE_PLUGIN_AUTOLOAD", "").lower() in {"1", "true", "yes"}


def _warn(info: PluginInfo) -> None:
    origin = f" ({info.distribution} {info.version})" if info.distribution else ""
    sys.stderr.write(
        f"warning: plugin '{info.name}'{origin} failed and was skipped: {info.error} "
        f"(`harness plugins` lists it; HARNESS_STRICT_PLUGINS=1 makes this fatal)\n"
    )


def _fail(info: PluginInfo, exc: BaseException) -> None:
    info.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if _strict():
        raise PluginError(f"plugin '{info.name}' failed: {info.error}") from exc
    _warn(info)


def _candidates() -> list[tuple[PluginInfo, Any]]:
    """(info, loader) pairs; the loader returns the plugin object (a module or any object)."""
    found: list[tuple[PluginInfo, Any]] = []
    seen_modules: set[str] = set()
    for ep in sorted(importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        if _autoload_disabled() and dist_name != OWN_DISTRIBUTION:
            continue
        if ep.value in seen_modules:  # the same distribution seen twice on sys.path
            continue
        seen_modules.add(ep.value)
        info = PluginInfo(ep.name, ep.value, dist_name, dist.version if dist is not None else None)
        info.blocked = bool({ep.name, ep.value, dist_name} & _blocked)
        found.append((info, ep.load))
    env_modules = [m.strip() for m in os.environ.get("HARNESS_PLUGINS", "").split(",") if m.strip()]
    for source, modules in (("HARNESS_PLUGINS", env_modules), ("-p", _extra_modules)):
        for module in modules:
            info = PluginInfo(module, module, source=source)
            info.blocked = module in _blocked
            found.append((info, lambda m=module: importlib.import_module(m)))
    for name, obj in _in_process:
        found.append((PluginInfo(name, repr(obj), source="in-process"), lambda o=obj: o))
    return found


def _load() -> _State:
    global _state
    if _state is not None:
        return _state
    manager = pluggy.PluginManager("harness")
    manager.add_hookspecs(hookspecs)
    registries = {kind: Registry(kind.rstrip("s")) for kind in KINDS}
    infos: list[PluginInfo] = []
    for info, loader in _candidates():
        infos.append(info)
        if info.blocked:
            continue
        try:
            plugin = loader()
            manager.register(plugin, name=info.name)
            manager.check_pending()
        except Exception as exc:
            with contextlib.suppress(Exception):
                manager.unregister(name=info.name)
            _fail(info, exc)
            continue
        info.hooks = sorted(impl.name for impl in _hookcallers(manager, plugin))
        try:
            _register_components(manager, plugin, info, registries)
        except Exception as exc:
            for reg in registries.values():
                reg.remove_plugin(info.name)
            manager.unregister(plugin)
            _fail(info, exc)
    _state = _State(manager, registries, infos)
    return _state


def _hookcallers(manager: pluggy.PluginManager, plugin: object) -> list[Any]:
    return list(manager.get_hookcallers(plugin) or [])


def _register_components(
    manager: pluggy.PluginManager, plugin: object, info: PluginInfo, registries: dict[str, Registry]
) -> None:
    for kind in KINDS:
        caller = getattr(manager.hook, f"register_{kind}")
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue

            def register(name: str, factory: Any, _kind: str = kind, **metadata: Any) -> None:
                registries[_kind].add(
                    name,
                    factory,
                    plugin=info.name,
                    distribution=info.distribution,
                    version=info.version,
                    **metadata,
                )

            impl.function(register=register)
