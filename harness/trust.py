"""Remote code: off unless the user switches it on for this process (``harness --trust-remote-code``).

transformers runs Python files shipped with a checkpoint when ``trust_remote_code=True``, and when the
argument is left out it *asks on stdin* (and dies with EOFError without a terminal). So every
``from_pretrained`` of a model, tokenizer or config in the harness passes `remote_code_kwargs()`
explicitly, and nothing a checkpoint or a recipe says can switch remote code on: only this process-wide
setting, which only the command line (or a Python caller) sets.

    >>> from harness import trust
    >>> trust.remote_code_kwargs()
    {'trust_remote_code': False}

This module imports nothing heavy: the CLI sets it before any model code is imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

FLAG = "--trust-remote-code"

_allowed = False


def allow_remote_code(allowed: bool = True) -> None:
    """Let checkpoints that ship their own code run it (the ``--trust-remote-code`` flag)."""
    global _allowed
    _allowed = bool(allowed)


def remote_code_allowed() -> bool:
    return _allowed


def remote_code_kwargs() -> dict[str, bool]:
    """What every ``from_pretrained`` gets, so that transformers never prompts."""
    return {"trust_remote_code": _allowed}


def refuse(source: str, reason: str) -> None:
    """Raise the one-line refusal for ``source`` unless remote code is allowed."""
    if not _allowed:
        raise HarnessError(
            f"{source} asks to run its own code ({reason}); remote code runs only when you pass {FLAG} "
            f"(harness {FLAG} run ...), after reading that code"
        )


def asks_for_remote_code(folder: Path) -> str | None:
    """Why a local checkpoint folder would run its own code, or None.

    Looks at what transformers would act on (``auto_map`` in config.json and tokenizer_config.json) and at
    a harness recipe's ``llm_options.trust_remote_code``."""
    for name in ("config.json", "tokenizer_config.json"):
        data = _json_object(folder / name)
        if data.get("auto_map"):
            return f"{name} has an auto_map"
        options = [data.get("llm_options"), (data.get("recipe") or {}).get("llm_options")]
        if any(isinstance(o, dict) and o.get("trust_remote_code") for o in options):
            return f"{name} sets llm_options.trust_remote_code"
    return None


def check_folder(folder: Path) -> None:
    """Refuse a local checkpoint folder that asks for remote code (unless allowed)."""
    reason = asks_for_remote_code(folder)
    if reason:
        refuse(str(folder), reason)


def is_remote_code_refusal(exc: BaseException) -> bool:
    """transformers' own refusal when ``trust_remote_code=False`` meets a repository with custom code."""
    return isinstance(exc, ValueError) and "trust_remote_code" in str(exc)


def _json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # absent or unreadable: the loader reports it in its own words
    return data if isinstance(data, dict) else {}
