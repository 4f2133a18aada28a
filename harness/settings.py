"""One typed parser for ``--set KEY=VALUE`` (``harness run`` and ``harness finetune``).

    >>> from harness.settings import RUN_SETTINGS, parse_settings
    >>> parse_settings(["max_new_tokens=64", "llm_options.model_id=/models/qwen"], RUN_SETTINGS)
    {'max_new_tokens': 64, 'llm_options': {'model_id': '/models/qwen'}}

Each command declares its keys as `Setting` specs; an unknown key is an error that lists the valid
ones, a value of the wrong type or out of range is an error naming the key, and ``PREFIX.KEY`` keys of a
*nested* setting (``llm_options.model_id=PATH``) collect into a dict. Booleans are strict:
true/false/yes/no/1/0, anything else is an error.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.options import parse_bool

__all__ = ["LLM_OPTIONS", "RUN_SETTINGS", "Setting", "parse_settings", "settings_of_dataclass"]

@dataclass(frozen=True)
class Setting:
    """One ``--set`` key: its type, allowed range or choices, and a one-line help."""

    kind: str
    """``int``, ``float``, ``bool``, ``str``, ``list`` (comma-separated) or ``nested`` (``KEY.SUB=VALUE``)."""
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    optional: bool = False
    """``none``/``null`` give None."""

    def parse(self, key: str, text: str, option: str = "--set") -> Any:
        what = f"{option} {key}={text}"
        if self.optional and text.strip().lower() in {"none", "null"}:
            return None
        if self.kind == "bool":
            return parse_bool(text, name=f"{option} {key}")
        if self.kind == "int":
            value: Any = _number(int, text, what, "an integer")
        elif self.kind == "float":
            value = _number(float, text, what, "a number")
        elif self.kind == "list":
            return _list(text, what)
        elif self.kind == "nested":
            return _loose(text)
        else:
            value = text
        if self.choices and value not in self.choices:
            raise HarnessError(f"{what}: expected one of {', '.join(self.choices)}")
        self._check_range(value, what)
        return value

    def _check_range(self, value: Any, what: str) -> None:
        if self.minimum is not None and (value < self.minimum or (self.exclusive_minimum and value == self.minimum)):
            bound = f"greater than {self.minimum:g}" if self.exclusive_minimum else f"at least {self.minimum:g}"
            raise HarnessError(f"{what}: must be {bound}")
        if self.maximum is not None and value > self.maximum:
            raise HarnessError(f"{what}: must be at most {_bound(self.maximum)}")


def _number(cast: type, text: str, what: str, expected: str) -> int | float:
    try:
        value = cast(text.strip())
    except ValueError:
        raise HarnessError(f"{what}: expected {expected}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise HarnessError(f"{what}: expected a finite number")
    return value


def _list(text: str, what: str) -> list[str]:
    """``a,b`` or a JSON list of strings (``["a", "b"]``)."""
    if text.strip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise HarnessError(f"{what}: expected a comma-separated list or a JSON list of strings")
        return items
    return [item.strip() for item in text.split(",") if item.strip()]


def _loose(text: str) -> Any:
    """A nested option's value: a strict boolean word, an integer, else the text (paths, ids)."""
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"none", "null"}:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def split_pair(pair: str, option: str = "--set") -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise HarnessError(f"{option} expects KEY=VALUE, got {pair!r}")
    return key.strip(), value.strip()


def parse_settings(pairs: Sequence[str], specs: Mapping[str, Setting], *, option: str = "--set",
                   noun: str = "setting") -> dict[str, Any]:
    """Typed values for ``KEY=VALUE`` pairs; nested keys (``llm_options.model_id``) become dicts."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, text = split_pair(pair, option)
        head, dot, sub = key.partition(".")
        spec = specs.get(head)
        if spec is None or (spec.kind == "nested") != bool(dot) or (dot and not sub):
            raise HarnessError(f"{option} {key}: unknown {noun} '{key}'; settings are: {_listing(specs)}")
        if dot:
            out.setdefault(head, {})[sub] = spec.parse(key, text, option)
        else:
            out[key] = spec.parse(key, text, option)
    return out


def _listing(specs: Mapping[str, Setting]) -> str:
    return ", ".join(f"{name}.KEY" if spec.kind == "nested" else name for name, spec in sorted(specs.items()))


LLM_OPTIONS = Setting("nested", "options of the LLM backend, e.g. llm_options.model_id=/path/to/local/llm")

RUN_SETTINGS: dict[str, Setting] = {
    "max_new_tokens": Setting("int", "new tokens per answer (every scope)", minimum=1),
    "do_sample": Setting("bool", "sample instead of greedy decoding"),
    "temperature": Setting("float", "sampling temperature", minimum=0, exclusive_minimum=True),
    "top_p": Setting("float", "nucleus sampling mass", minimum=0, exclusive_minimum=True, maximum=1),
    "top_k": Setting("int", "sample from the k most likely tokens", minimum=1),
    "num_beams": Setting("int", "beam search width", minimum=1),
    "decoding": Setting("str", "greedy, or the task's reference decoding", choices=("greedy", "reference")),
    "style": Setting("str", "prompt style (the task lists its styles)"),
    "seed": Setting("int", "seed for sampling", minimum=0, maximum=2**64 - 1),  # torch.manual_seed's range
    "split": Setting("str", "data split (same as --split)"),
    "on_bad_case": Setting("str", "same as --on-bad-case", choices=("error", "skip")),
    "cache_dir": Setting("str", "judge cache folder (same as --cache-dir; default $HARNESS_CACHE/judge)"),
    "cache_implementation": Setting("str", "KV cache of generation (static; default dynamic): same tokens",
                                    choices=("static", "dynamic")),
    "llm_options": LLM_OPTIONS,
}
"""The keys `harness run --set` accepts."""


def settings_of_dataclass(cls: type, *, exclude: Sequence[str] = ()) -> dict[str, Setting]:
    """`Setting` specs from a dataclass's annotated fields (bool, int, float, str, list[str], X | None,
    dict -> nested), e.g. the fine-tuning configuration."""
    hints = typing.get_type_hints(cls)
    specs: dict[str, Setting] = {}
    for field in dataclasses.fields(cls):
        if field.name in exclude:
            continue
        hint = hints[field.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = type(None) in typing.get_args(hint)
        base = args[0] if optional and args else hint
        origin = typing.get_origin(base) or base
        kind = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "nested"}.get(origin, "str")
        specs[field.name] = Setting(kind, optional=optional)
    return specs


def _bound(value: float) -> str:
    """A range limit as the user would type it: whole numbers in full (2**64 - 1, not 1.84467e+19)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
