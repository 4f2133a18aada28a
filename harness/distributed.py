"""This process's place under a launcher (torchrun, DeepSpeed): rank and world size, read from the environment.

    >>> Distributed(rank=1, world_size=3).shard(["a", "b", "c", "d", "e"])
    ['b', 'e']

The one reader of ``RANK`` and ``WORLD_SIZE`` for the run loop and training: without a launcher a process
is rank 0 of 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Distributed"]

T = TypeVar("T")


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> Distributed:
        """``RANK`` and ``WORLD_SIZE`` as the launcher set them (read now), else rank 0 of 1."""
        return cls(int(os.environ.get("RANK") or 0), int(os.environ.get("WORLD_SIZE") or 1))

    @staticmethod
    def launched() -> bool:
        """Whether a launcher started this process (it set ``WORLD_SIZE``)."""
        return "WORLD_SIZE" in os.environ

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's deterministic share: every ``world_size``-th item from position ``rank``."""
        return list(items[self.rank :: self.world_size])
