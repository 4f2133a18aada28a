"""This process's place in a launched run: rank and world size as torchrun or the DeepSpeed launcher set them
(``RANK``, ``WORLD_SIZE``); without a launcher, rank 0 of a world of one."""

from __future__ import annotations

import os


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched() -> bool:
    """Whether a launcher started this process (it set ``WORLD_SIZE``)."""
    return "WORLD_SIZE" in os.environ


def is_main_process() -> bool:
    return rank() == 0
