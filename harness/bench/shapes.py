"""The sizes a benchmark runs at: ``full`` (the registered architectures, for a GPU) and ``tiny`` (the same
recipes shrunk by their ``bench`` metadata so that a CPU finishes in seconds; its figures only prove the code
path). What is measured (model, judge, tasks) is `harness.bench.workload`'s; how much of it is here.

Fixed numbers of new tokens make runs comparable (random weights would stop at arbitrary points): each task
declares its own (`harness.bench.workload`), the judge's is ``judge_new_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shapes:
    scale: str
    vision_batches: tuple[int, ...] = (1, 4)
    generation_batches: tuple[int, ...] = (1, 8, 32)
    search_largest: bool = True
    """Also measure the largest batch that fits (halving down from ``largest_cap`` until one fits)."""
    largest_cap: int = 512
    judge_batches: tuple[int, ...] = (8, 16, 64)
    judge_new_tokens: int = 300
    judge_samples: int = 64
    """Judged samples per batch size (at least the batch itself)."""
    train_batch: int = 8
    train_steps: int = 3
    train_warmup_steps: int = 1
    train_max_length: int = 1024


def full() -> Shapes:
    return Shapes("full")


def tiny() -> Shapes:
    """Few batches, few steps, few judged samples."""
    return Shapes(
        "tiny",
        vision_batches=(1, 2),
        generation_batches=(1, 2),
        search_largest=False,
        judge_batches=(2, 4),
        judge_new_tokens=3,
        judge_samples=4,
        train_batch=2,
        train_steps=1,
        train_warmup_steps=1,
        train_max_length=512,
    )


def for_scale(scale: str) -> Shapes:
    return {"full": full, "tiny": tiny}[scale]()
