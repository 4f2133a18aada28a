"""Option types and global settings shared by the subcommands: `--limit`, `--batch-size`, `--on-bad-case`, `-v/-q`."""

from __future__ import annotations

from typing import Any

import click

from harness.errors import HarnessError


class LimitType(click.ParamType):
    """``--limit``: a count (an integer >= 1) or a fraction in (0, 1] written with a point (``0.5``, ``1.0``)."""

    name = "N|FRACTION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number: int | float = value
        else:
            text = str(value).strip()
            try:
                number = float(text) if any(c in text for c in ".eE") else int(text)
            except ValueError:
                self.fail(f"{value!r}: give a count such as 10 or a fraction such as 0.25", param, ctx)
        if isinstance(number, int) and number < 1:
            self.fail(f"{value!r}: a count must be at least 1 (or give a fraction such as 0.25)", param, ctx)
        if isinstance(number, float) and not 0 < number <= 1:
            self.fail(f"{value!r}: a fraction must be in (0, 1]; a count is an integer such as 10", param, ctx)
        return number


class BatchSizeType(click.ParamType):
    """``--batch-size``: an integer >= 1 or ``auto``."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if str(value).strip().lower() == "auto":
            return "auto"
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r}: give an integer >= 1 or 'auto'", param, ctx)
        if number < 1:
            self.fail(f"{value!r}: give an integer >= 1 or 'auto'", param, ctx)
        return number


class OnBadCaseType(click.ParamType):
    """``--on-bad-case error|skip`` for every command; the old ``raise`` is refused with its new name."""

    name = "error|skip"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from harness.data.images import check_on_bad_case

        try:
            return check_on_bad_case(str(value))
        except HarnessError as exc:
            self.fail(str(exc).removeprefix("--on-bad-case "), param, ctx)


LIMIT = LimitType()
BATCH_SIZE = BatchSizeType()
ON_BAD_CASE = OnBadCaseType()


def verbosity() -> int:
    """The global ``-v`` (positive) / ``-q`` (negative) count of the running command; 0 outside one."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return int(obj.get("verbosity", 0)) if isinstance(obj, dict) else 0
