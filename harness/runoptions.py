"""Typed options of one `harness run`, and their checks: what can be refused before anything loads.

    >>> from harness.runoptions import config_from_settings
    >>> config = config_from_settings(["max_new_tokens=64", "decoding=reference"], model="m", task="t")
    >>> config.decoding, config.reference_decoding
    ({'max_new_tokens': 64}, True)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.settings import RUN_SETTINGS
from harness.settings import parse_settings as typed_settings

DECODING_KEYS = ("max_new_tokens", "do_sample", "temperature", "top_p", "top_k", "num_beams")
"""``--set`` keys that change generation; they apply to every scope of the task."""
AUTO_BATCH_GIB = 2.0
"""``--batch-size auto``: one sequence per this many GiB of free accelerator memory after loading."""
AUTO_BATCH_MAX = 32


@dataclass
class RunConfig:
    """Everything one `run` needs; ``--set`` keys map onto these fields (`with_settings`)."""

    model: str
    task: str
    data: str | None = None
    out_dir: Path | str | None = None
    limit: int | float | None = None
    """At most this many cases (an int >= 1), or this fraction of them (a float in (0, 1], rounded up)."""
    batch_size: int | str = 1
    """Requests per generate call, or ``"auto"`` (see `auto_batch_size`)."""
    device: str | None = None
    dtype: str | None = None
    judge: str | None = None
    judge_options: tuple[str, ...] = ()
    """``--judge-option KEY=VALUE`` pairs, typed by the judge factory's signature (`harness.options`)."""
    split: str | None = None
    on_bad_case: str = "error"
    """``error``: an unreadable image stops the run; ``skip``: it is left out and listed in the result."""
    style: str | None = None
    """Prompt style (default: the model recipe's)."""
    seed: int | None = None
    decoding: dict[str, Any] = field(default_factory=dict)
    """Overrides of the task's decoding for every scope (``max_new_tokens``, ``do_sample``, ...)."""
    reference_decoding: bool = False
    """Use the task's ``reference_decoding`` (the reference scripts' sampling) under the overrides."""
    cache_dir: Path | str | None = None
    """Judge cache (default `harness.paths.judge_cache_dir`: ``$HARNESS_CACHE/judge``)."""
    llm_options: dict[str, Any] = field(default_factory=dict)
    cache_implementation: str | None = None
    """KV cache of generation (``static``, or None for transformers' dynamic cache): speed only, same tokens."""
    overwrite: bool = False
    """Start the output folder again instead of resuming."""

    def resolved_out_dir(self) -> Path:
        if self.out_dir is not None:
            return Path(self.out_dir)
        safe_model = Path(str(self.model)).name or "model"
        return Path("runs") / f"{safe_model}-{self.task}"

    def with_settings(self, settings: dict[str, Any]) -> RunConfig:
        """This config with parsed ``--set`` values (see `harness.settings.RUN_SETTINGS`) applied."""
        values = dict(settings)
        decoding = {key: values.pop(key) for key in DECODING_KEYS if key in values}
        changes: dict[str, Any] = {"decoding": {**self.decoding, **decoding}}
        if "decoding" in values:
            changes["reference_decoding"] = values.pop("decoding") == "reference"
        if "llm_options" in values:
            changes["llm_options"] = {**self.llm_options, **values.pop("llm_options")}
        changes.update(values)
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Out-of-range options are one-line errors before anything loads."""
        check_limit(self.limit)
        if self.batch_size != "auto" and (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int)
                                          or self.batch_size < 1):
            raise HarnessError(f"--batch-size {self.batch_size}: give an integer >= 1, or 'auto'")
        if self.on_bad_case not in ("error", "skip"):
            raise HarnessError(f"--on-bad-case {self.on_bad_case}: expected 'error' or 'skip'")


def config_from_settings(pairs: Sequence[str], **fields: Any) -> RunConfig:
    """A `RunConfig` from command-line fields and ``--set`` pairs (typed; unknown keys are errors)."""
    return RunConfig(**fields).with_settings(typed_settings(pairs, RUN_SETTINGS))


def check_limit(limit: int | float | None) -> None:
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise HarnessError(f"--limit {limit!r}: give a count (an integer >= 1) or a fraction in (0, 1]")
    if isinstance(limit, int) and limit < 1:
        raise HarnessError(f"--limit {limit}: give a count >= 1 (or a fraction such as 0.5)")
    if isinstance(limit, float) and not (0 < limit <= 1):
        raise HarnessError(f"--limit {limit}: a fraction must be in (0, 1]; a count is an integer such as 10")


def apply_limit(cases: list[Any], limit: int | float | None) -> list[Any]:
    """The first ``limit`` cases (a count), or the first ``ceil(limit * n)`` (a fraction)."""
    check_limit(limit)
    if limit is None:
        return cases
    count = limit if isinstance(limit, int) else math.ceil(limit * len(cases))
    return cases[:count]


def check_device(device: str | None, *, option: str = "--device ") -> None:
    """A device torch cannot use is a one-line error before the model loads. ``option`` is how the message
    names the setting (``--device cuda``, or ``--judge-option device=cuda`` with ``option="... device="``)."""
    if device is None:
        return
    import torch

    given = f"{option}{device}"
    cpu = f"{option}cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise HarnessError(f"{given}: not a device; use cpu, cuda, cuda:N or mps") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise HarnessError(f"{given}: this torch ({torch.__version__}) has no usable CUDA; "
                               f"use {cpu}, or install a CUDA build of torch")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise HarnessError(f"{given}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise HarnessError(f"{given}: MPS is not available here; use {cpu}")


def auto_batch_size(device: str, free_bytes: int | None = None) -> int:
    """``--batch-size auto``: 1 on CPU; on an accelerator, one sequence per `AUTO_BATCH_GIB` GiB of memory
    free after the model loaded, rounded down to a power of two, between 1 and `AUTO_BATCH_MAX`."""
    if not device.startswith("cuda"):
        return 1
    if free_bytes is None:
        import torch

        free_bytes, _total = torch.cuda.mem_get_info(torch.device(device))
    sequences = int(free_bytes / (AUTO_BATCH_GIB * 2**30))
    if sequences < 1:
        return 1
    return min(AUTO_BATCH_MAX, 2 ** int(math.log2(sequences)))
