"""Plugin discovery and loading (pluggy project ``"harness"``).

Plugins come from three places, in this order:

1. entry points of the group ``harness`` (the built-ins are registered the same way);
2. ``HARNESS_PLUGINS=mod1,mod2`` (import paths);
3. ``-p MODULE`` on the command line (``configure(modules=[...])``).

``-p no:NAME`` (``configure(blocked=[...])``) blocks a plugin by its name, module or
distribution. ``HARNESS_DISABLE_PLUGIN_AUTOLOAD=1`` skips third-party entry points (the built-ins,
``HARNESS_PLUGINS`` and ``-p`` still load).

Every plugin is imported, validated (``check_pending``) and asked to register inside its own guard:
one that fails is recorded in :func:`plugin_infos`, reported with a one-line warning and skipped,
so a broken plugin never takes the CLI down. ``HARNESS_STRICT_PLUGINS=1`` makes it fatal; a ``-p MODULE``
that does not exist is always fatal (a typo on the command line, as in pytest).

The built-in entry points (distribution ``med3d-harness``) load first, so a third-party plugin that
registers a name a built-in already has (a built-in task's name, say) is the one refused: it cannot silently replace
an official component. The warning names both plugins and their distributions.

    >>> from harness import plugins
    >>> plugins.registry("judges").names()          # doctest: +SKIP
    ['hf', 'lexical']
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

import pluggy

from harness import hookspecs
from harness.errors import PluginError
from harness.registry import KINDS, Entry, Registry

PROJECT_NAME = "harness"
"""The pluggy project name (hookspecs.py marks hooks with the same name)."""
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
    components: dict[str, list[str]] = field(default_factory=dict)
    """The names it registered, by kind."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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


def _origin(info: PluginInfo) -> str:
    return f"'{info.name}' ({info.distribution} {info.version})" if info.distribution else f"'{info.name}'"


def _fail(info: PluginInfo, exc: BaseException) -> None:
    """Record a plugin's failure; warn in one line, or raise in strict mode."""
    message = str(exc).strip().splitlines()
    info.error = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    if _strict():
        raise PluginError(
            f"plugin {_origin(info)} failed: {info.error} (HARNESS_STRICT_PLUGINS is set; "
            f"fix or uninstall the plugin, or block it with -p no:{info.name})"
        ) from exc
    sys.stderr.write(
        f"warning: plugin {_origin(info)} failed and was skipped: {info.error} "
        f"(`harness plugins` lists it; HARNESS_STRICT_PLUGINS=1 makes this fatal)\n"
    )


def _entry_point_candidates() -> list[tuple[PluginInfo, Callable[[], object]]]:
    found: list[tuple[PluginInfo, Callable[[], object]]] = []
    seen: set[tuple[str, str | None]] = set()
    def order(ep: importlib_metadata.EntryPoint) -> tuple[bool, str]:  # the built-ins first: they win a clash
        dist = getattr(ep, "dist", None)
        return (dist is None or dist.metadata["Name"] != OWN_DISTRIBUTION, ep.name)

    for ep in sorted(importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=order):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        if _autoload_disabled() and dist_name != OWN_DISTRIBUTION:
            continue
        if (ep.value, dist_name) in seen:  # the same distribution found twice on sys.path
            continue
        seen.add((ep.value, dist_name))
        info = PluginInfo(ep.name, ep.value, dist_name, dist.version if dist is not None else None)
        info.blocked = bool({ep.name, ep.value, ep.module, dist_name} & _blocked)
        found.append((info, ep.load))
    return found


def _candidates() -> list[tuple[PluginInfo, Callable[[], object]]]:
    """(info, loader) pairs in load order; the loader returns the plugin object (a module or any object).

    Plugin names are unique: an entry point whose name another distribution already uses (two
    packages may both call theirs ``encoders``) is renamed ``DISTRIBUTION:NAME``.
    """
    found = _entry_point_candidates()
    loaded_modules = {info.module.partition(":")[0] for info, _ in found}
    env_modules = [m.strip() for m in os.environ.get("HARNESS_PLUGINS", "").split(",") if m.strip()]
    for source, modules in (("HARNESS_PLUGINS", env_modules), ("-p", _extra_modules)):
        for module in modules:
            if module in loaded_modules:  # already an installed entry point, or given twice
                continue
            loaded_modules.add(module)
            info = PluginInfo(module, module, source=source, blocked=module in _blocked)
            found.append((info, functools.partial(importlib.import_module, module)))
    for name, obj in _in_process:
        found.append((PluginInfo(name, repr(obj), source="in-process", blocked=name in _blocked), lambda o=obj: o))
    names: set[str] = set()
    for info, _ in found:
        if info.name in names:
            info.name = f"{info.distribution or info.source}:{info.name}"
        names.add(info.name)
    return found


def _load() -> _State:
    global _state
    if _state is not None:
        return _state
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    registries = {kind: Registry(kind[:-1], builtin_distribution=OWN_DISTRIBUTION) for kind in KINDS}
    infos: list[PluginInfo] = []
    for info, loader in _candidates():
        infos.append(info)
        if not info.blocked:
            _load_one(manager, registries, info, loader)
    failed = [info.name for info in infos if info.error]
    for reg in registries.values():
        reg.failed_plugins = failed
    _state = _State(manager, registries, infos)
    return _state


def _load_one(
    manager: pluggy.PluginManager, registries: dict[str, Registry], info: PluginInfo, loader: Callable[[], object]
) -> None:
    """Import, validate and register one plugin; on any failure undo it and record the error."""
    plugin: object = None
    try:
        plugin = loader()
        manager.register(plugin, name=info.name)
        manager.check_pending()  # a misspelled hook (``register_encoder``) fails here
        info.hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        for kind in KINDS:
            _register_kind(manager, plugin, info, kind, registries[kind])
    except (Exception, SystemExit) as exc:
        for reg in registries.values():
            reg.remove_plugin(info.name)
        info.components = {}
        if plugin is not None and manager.is_registered(plugin):
            manager.unregister(plugin)
        if info.source == "-p" and _is_missing(info.module, exc):  # a typo on the command line: fatal, as in pytest
            raise PluginError(
                f"-p {info.module}: no module named '{info.module}' on the Python path; check the spelling, "
                f"install the plugin's package, or set PYTHONPATH"
            ) from exc
        _fail(info, exc)


def _is_missing(module: str, exc: BaseException) -> bool:
    """The module itself (or a parent package of it) does not exist, as opposed to failing inside."""
    return isinstance(exc, ModuleNotFoundError) and bool(exc.name) and (module + ".").startswith(f"{exc.name}.")


def _register_kind(
    manager: pluggy.PluginManager, plugin: object, info: PluginInfo, kind: str, registry_: Registry
) -> None:
    """Call this plugin's ``register_<kind>`` hook (only its own, so a failure stays its own)."""

    def register(name: str, factory: Any, **metadata: Any) -> None:
        entry = Entry(name, registry_.kind, factory, info.name, info.distribution, info.version, metadata)
        registry_.add_entry(entry)
        info.components.setdefault(kind, []).append(name)

    for impl in getattr(manager.hook, f"register_{kind}").get_hookimpls():
        if impl.plugin is plugin:
            impl.function(register=register)
