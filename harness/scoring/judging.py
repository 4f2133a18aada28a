"""Sending GREEN prompts to a judge: every distinct prompt once, batched, cached on disk.

    >>> from harness import plugins
    >>> from harness.scoring.judging import GreenScorer
    >>> scorer = GreenScorer(plugins.registry("judges").create("lexical"), cache_dir="judge_cache")  # doctest: +SKIP
    >>> [p.score for p in scorer.score_pairs([("Liver normal.", "Liver normal.")])]  # doctest: +SKIP
    [1.0]

A judge (DESIGN: `id: str`, `complete(prompts) -> completions`) only completes text; this module builds
the prompts, removes duplicates, looks them up in the cache, batches the rest and appends each finished
batch to the cache file (flushed and fsynced), so a crash loses at most the batch in flight and rescoring
the same run costs no judge call. The cache is one JSONL file per judge id, keyed by sha256 of the prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError
from harness.scoring.green import GreenParse, make_prompt, parse_completion

DEFAULT_JUDGE = "hf"
"""The judge plugin FLARE scores with: GREEN-radllama2-7b through the `hf` judge."""


def default_judge_name() -> str:
    """The judge used when none is named: the official one (`hf` with StanfordAIMI/GREEN-radllama2-7b)."""
    return DEFAULT_JUDGE


def default_cache_dir() -> Path:
    """Where `harness score` keeps judge completions: ``$HARNESS_CACHE/judge`` or ``~/.cache/med3d-harness/judge``."""
    root = os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "med3d-harness"
    return Path(root) / "judge"


class Judge(Protocol):
    id: str

    def complete(self, prompts: list[str]) -> list[str]: ...


def prompt_key(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


@dataclass
class JudgeStats:
    """Judge traffic since the scorer was made: `prompts` asked for, `distinct` among them, answered
    from the cache (`cached`) and `sent` to the judge."""

    prompts: int = 0
    distinct: int = 0
    cached: int = 0
    sent: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    def minus(self, other: JudgeStats) -> JudgeStats:
        return JudgeStats(*(a - b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True)))


class CompletionCache:
    """Completions of one judge on disk: a JSONL file of ``{"judge", "prompt_sha256", "completion"}``."""

    def __init__(self, directory: str | Path, judge_id: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", judge_id).strip("_")[:60]
        self.judge_id = judge_id
        self.path = Path(directory) / f"{slug}-{prompt_key(judge_id)[:12]}.jsonl"
        self._entries: dict[str, str] = {}
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        with self.path.open("rb") as handle:
            for raw in handle:
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue  # a line torn by a crash mid-write
                if isinstance(entry, dict) and entry.get("judge") == self.judge_id:
                    self._entries[entry["prompt_sha256"]] = entry["completion"]

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, items: Iterable[tuple[str, str]]) -> None:
        """Append (prompt key, completion) pairs and flush them to disk before returning."""
        items = list(items)
        lines = "".join(
            json.dumps({"judge": self.judge_id, "prompt_sha256": k, "completion": c}, ensure_ascii=False) + "\n"
            for k, c in items
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        self._entries.update(items)


class GreenScorer:
    """GREEN scores for (reference, candidate) pairs through one judge.

    ``cache_dir=None`` keeps completions in memory only (still sent once per distinct prompt)."""

    def __init__(self, judge: Judge, cache_dir: str | Path | None = None, batch_size: int = 8,
                 progress: bool = True) -> None:
        if batch_size < 1:
            raise HarnessError(f"judge batch size must be at least 1, got {batch_size}")
        self.judge = judge
        self.batch_size = batch_size
        self.progress = progress
        self.stats = JudgeStats()
        self._memory: dict[str, str] = {}
        self._cache = CompletionCache(cache_dir, judge.id) if cache_dir is not None else None

    @property
    def judge_id(self) -> str:
        return self.judge.id

    def _lookup(self, key: str) -> str | None:
        if key in self._memory:
            return self._memory[key]
        return self._cache.get(key) if self._cache is not None else None

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """One completion per prompt, in order; each distinct prompt missing from the cache is sent once."""
        keys = [prompt_key(p) for p in prompts]
        distinct = dict(zip(keys, prompts, strict=True))
        missing = {k: p for k, p in distinct.items() if self._lookup(k) is None}
        self.stats.prompts += len(prompts)
        self.stats.distinct += len(distinct)
        self.stats.cached += len(distinct) - len(missing)
        self._send(missing)
        return [self._lookup(k) or "" for k in keys]

    def _send(self, missing: dict[str, str]) -> None:
        if not missing:
            return
        from tqdm.auto import tqdm

        # Longest first: batches of similar lengths pad less, and the slowest batches show up early in the ETA.
        order = sorted(missing.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        with tqdm(total=len(order), desc=f"GREEN judge ({self.judge.id})", unit="prompt",
                  disable=not self.progress) as bar:
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                completions = self.judge.complete([p for _, p in batch])
                if not isinstance(completions, list) or len(completions) != len(batch):
                    got = len(completions) if isinstance(completions, list) else type(completions).__name__
                    raise HarnessError(
                        f"judge '{self.judge.id}' returned {got} completions for {len(batch)} prompts; "
                        "a judge's complete() must return one string per prompt, in order"
                    )
                pairs = [(k, str(c)) for (k, _), c in zip(batch, completions, strict=True)]
                self._memory.update(pairs)
                if self._cache is not None:
                    self._cache.add(pairs)
                self.stats.sent += len(batch)
                bar.update(len(batch))

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[GreenParse]:
        """GREEN for each (reference, candidate), in order. Collect all pairs of a run and call this once."""
        completions = self.complete([make_prompt(r, c) for r, c in pairs])
        return [parse_completion(c) for c in completions]
