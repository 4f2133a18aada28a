"""One typed registry for every component kind.

    >>> from harness.registry import Registry
    >>> encoders = Registry("encoder")
    >>> entry = encoders.add("dcformer", "harness_plugins.encoders.dcformer:DCFormer", plugin="builtin")
    >>> encoders.names("dc*")
    ['dcformer']
    >>> encoders.get("dcfromer")
    Traceback (most recent call last):
    harness.errors.UnknownNameError: unknown encoder 'dcfromer': did you mean 'dcformer'? available: dcformer

Factories may be lazy ``"module:attribute"`` strings; they are imported on first ``load()``,
so listing never imports a heavy module.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from harness.errors import HarnessError, UnknownNameError

__all__ = ["KINDS", "Entry", "Registry"]

T = TypeVar("T")

KINDS = ("encoders", "projectors", "llms", "tasks", "models", "judges")
"""The component kinds, in the order `harness list` shows them (plural, as on the command line)."""


@dataclass
class Entry(Generic[T]):
    """A registered component: its name, where it came from, and how to build it."""

    name: str
    kind: str
    factory: Callable[..., T] | str
    plugin: str = ""
    distribution: str | None = None
    version: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """The plugin and, when installed from a distribution, its name and version."""
        dist = f" ({self.distribution} {self.version or ''})".replace(" )", ")") if self.distribution else ""
        return f"'{self.plugin}'{dist}"

    @property
    def description(self) -> str:
        return str(self.metadata.get("description", ""))

    def load(self) -> Callable[..., T]:
        """The factory itself, importing a lazy ``module:attribute`` string on first use."""
        if isinstance(self.factory, str):
            module_name, _, attribute = self.factory.partition(":")
            try:
                module = importlib.import_module(module_name)
                self.factory = getattr(module, attribute) if attribute else module
            except (ImportError, AttributeError) as exc:
                raise HarnessError(
                    f"{self.kind} '{self.name}' from plugin '{self.plugin}' cannot be loaded "
                    f"({self.factory}): {exc}"
                ) from exc
        return self.factory  # type: ignore[return-value]

    def create(self, **options: Any) -> T:
        factory = self.load()
        if self.kind == "task":  # the one kind with a contract of many members: check it before use
            from harness.task import check_task

            check_task(factory, plugin=self.plugin)
            made = factory(**options)
            check_task(made, plugin=self.plugin)
            return made
        return factory(**options)

    def to_json(self) -> dict[str, Any]:
        factory = self.factory if isinstance(self.factory, str) else _qualname(self.factory)
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
            "factory": factory,
            "metadata": {k: v for k, v in self.metadata.items() if k != "description"},
        }


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


class Registry(Generic[T]):
    """Named factories of one kind. A name registered twice is an error naming both plugins."""

    def __init__(self, kind: str, builtin_distribution: str | None = None) -> None:
        self.kind = kind
        self.builtin_distribution = builtin_distribution
        """Entries of this distribution win a name clash; any other clash refuses the name in `get`."""
        self._entries: dict[str, Entry[T]] = {}
        self._clashes: dict[str, str] = {}
        self.failed_plugins: list[str] = []
        """Plugins that failed to load, named in unknown-name errors (the name may be theirs)."""

    def add(
        self,
        name: str,
        factory: Callable[..., T] | str,
        *,
        plugin: str = "",
        distribution: str | None = None,
        version: str | None = None,
        **metadata: Any,
    ) -> Entry[T]:
        """Register ``factory`` under ``name``; ``metadata`` (``description``, ...) is kept as is."""
        return self.add_entry(Entry(name, self.kind, factory, plugin, distribution, version, dict(metadata)))

    def add_entry(self, entry: Entry[T]) -> Entry[T]:
        """Register a ready entry (the plugin manager uses this so metadata may use any key)."""
        if not isinstance(entry.name, str) or not entry.name:
            raise HarnessError(f"plugin '{entry.plugin}' registered a {self.kind} with an empty or non-string name")
        if not (callable(entry.factory) or (isinstance(entry.factory, str) and entry.factory)):
            raise HarnessError(
                f"plugin '{entry.plugin}' registered {self.kind} '{entry.name}' with factory {entry.factory!r}; "
                f"pass a callable or a 'module:attribute' string"
            )
        if entry.name in self._entries:
            other = self._entries[entry.name]
            message = (
                f"{self.kind} '{entry.name}' is registered twice: by plugin {other.origin} and by plugin "
                f"{entry.origin}; uninstall one or block one with -p no:{entry.plugin}"
            )
            self._clashes[entry.name] = message
            raise HarnessError(message)
        self._entries[entry.name] = entry
        return entry

    def remove_plugin(self, plugin: str) -> None:
        """Forget every entry a plugin registered (used when its registration fails half-way)."""
        self._entries = {k: v for k, v in self._entries.items() if v.plugin != plugin}

    def get(self, name: str) -> Entry[T]:
        """The entry of ``name``; a name two plugins registered is refused unless a built-in holds it."""
        try:
            entry = self._entries[name]
        except KeyError:
            raise UnknownNameError(self._unknown_message(name)) from None
        if name in self._clashes and (entry.distribution is None or entry.distribution != self.builtin_distribution):
            raise HarnessError(self._clashes[name])
        return entry

    def create(self, name: str, **options: Any) -> T:
        return self.get(name).create(**options)

    def names(self, pattern: str | None = None) -> list[str]:
        names = sorted(self._entries)
        return [n for n in names if fnmatch.fnmatchcase(n, pattern)] if pattern else names

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def _unknown_message(self, name: str) -> str:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f" did you mean '{close[0]}'?" if close else ""
        available = ", ".join(names) if names else "none installed"
        failed = (
            f"; plugins that failed to load: {', '.join(self.failed_plugins)} (`harness plugins` shows why)"
            if self.failed_plugins
            else ""
        )
        return f"unknown {self.kind} '{name}':{hint} available: {available}{failed}"
