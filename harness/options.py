"""Plugin options from the command line (``--judge-option KEY=VALUE``), typed strictly by the factory's signature.

    >>> from harness.options import parse_bool, parse_pairs, typed_options
    >>> parse_bool("no", name="trust_remote_code")
    False
    >>> def factory(model: str = "m", max_length: int = 2048, trust_remote_code: bool = False): ...
    >>> typed_options(factory, parse_pairs(["max_length=512", "trust_remote_code=no"]), what="judge 'hf'")
    {'max_length': 512, 'trust_remote_code': False}

A value is converted to the type its parameter is annotated with: ``bool`` accepts exactly true/false,
yes/no, 1/0 and on/off (any case), ``int`` and ``float`` their literals, ``X | None`` also "none"/"null";
anything else is a `HarnessError` naming the option and the value. A name the factory does not take is
refused with the names it does take. So ``trust_remote_code=no`` is False, never ``bool("no")``.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from harness.errors import HarnessError

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})
_NONE = frozenset({"none", "null"})


def parse_bool(value: Any, *, name: str) -> bool:
    """A boolean option: a bool as is, or one of true/false, yes/no, 1/0, on/off; anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise HarnessError(f"option {name}={value} is not a boolean; use true/false, yes/no or 1/0")


def parse_pairs(pairs: Iterable[str], *, flag: str = "--judge-option") -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (values stay text; a repeated key: the last wins)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise HarnessError(f"{flag} expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _convert(value: str, annotation: Any, name: str) -> Any:
    """``value`` as the annotated type (bool, int, float, str, their ``| None`` forms); other types stay text."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        if type(None) in args and value.strip().lower() in _NONE:
            return None
        concrete = [a for a in args if a is not type(None)]
        annotation = concrete[0] if len(concrete) == 1 else str
    if annotation is bool:
        return parse_bool(value, name=name)
    if annotation in (int, float):
        try:
            return annotation(value)
        except ValueError:
            raise HarnessError(f"option {name}={value!r} is not {'an integer' if annotation is int else 'a number'}"
                               ) from None
    return value


def typed_options(factory: Callable[..., Any], options: Mapping[str, str], *, what: str) -> dict[str, Any]:
    """Text options converted to the types of ``factory``'s keyword parameters; unknown names refused."""
    signature = inspect.signature(factory)
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)  # type: ignore[misc]
    except (NameError, TypeError):
        hints = {}
    parameters = {n: p for n, p in signature.parameters.items()
                  if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    out: dict[str, Any] = {}
    for name, value in options.items():
        if name not in parameters and not takes_any:
            known = ", ".join(sorted(parameters)) or "none"
            raise HarnessError(f"{what} has no option '{name}'; its options are: {known}")
        annotation = hints.get(name, parameters[name].annotation if name in parameters else str)
        if annotation is inspect.Parameter.empty:
            default = parameters[name].default if name in parameters else None
            annotation = type(default) if isinstance(default, (bool, int, float)) else str
        out[name] = _convert(value, annotation, name)
    return out
