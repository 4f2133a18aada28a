"""DeepSpeed configuration: the shipped ZeRO-2/ZeRO-3 files or a user's JSON, and single-process set-up.

The shipped files (``harness/configs/zero2.json``, ``zero3.json``) leave batch sizes, clipping, bf16/fp16
and bucket sizes as ``"auto"`` so the HF Trainer fills them from its own arguments, and define no
optimizer: the Trainer's torch AdamW is used, so nothing of DeepSpeed's needs compiling (CPUAdam or
FusedAdam would build C++/CUDA ops on first use).
"""

from __future__ import annotations

import json
import os
import socket
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

SHIPPED = ("zero2", "zero3")


def shipped_config_path(name: str) -> Path:
    return Path(str(resources.files("harness").joinpath("configs", f"{name}.json")))


def resolve_deepspeed(spec: str | None, *, cuda: bool) -> dict[str, Any] | None:
    """``auto`` (ZeRO-2 on CUDA, none on CPU), ``none``, ``zero2``, ``zero3`` or a JSON file -> config dict."""
    if spec is None or spec == "none":
        return None
    if spec == "auto":
        spec = "zero2" if cuda else "none"
        if spec == "none":
            return None
    path = shipped_config_path(spec) if spec in SHIPPED else Path(spec)
    if not path.is_file():
        raise HarnessError(f"DeepSpeed config '{spec}' not found; use zero2, zero3, none or a JSON file path")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise HarnessError(f"DeepSpeed config {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(config, dict):
        raise HarnessError(f"DeepSpeed config {path} must be a JSON object")
    return config


def zero_stage(config: dict[str, Any] | None) -> int | None:
    if config is None:
        return None
    return int(config.get("zero_optimization", {}).get("stage", 0))


def ensure_distributed_env() -> None:
    """DeepSpeed wants a process group even for one process; without a launcher, describe a world of one
    (otherwise it falls back to MPI discovery and needs mpi4py)."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("LOCAL_RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("LOCAL_WORLD_SIZE", "1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    if "MASTER_PORT" not in os.environ:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            os.environ["MASTER_PORT"] = str(sock.getsockname()[1])
