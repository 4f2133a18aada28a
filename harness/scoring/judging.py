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
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.jsonl import DamagedLine, JsonlLog
from harness.scoring.green import GreenParse, make_prompt, parse_completion


def create_judge(name: str, options: Sequence[str] = (), *, load: bool = True) -> Judge:
    """The judge plugin ``name`` with ``KEY=VALUE`` options typed strictly by its factory's signature
    (`harness.options`); with ``load``, its ``load()`` (when it has one) runs now, so a judge that cannot load
    fails before anything is generated or scored. The one judge factory of `harness run` and `harness score`."""
    from harness import plugins
    from harness.options import parse_pairs, typed_options

    entry = plugins.registry("judges").get(name)
    settings = typed_options(entry.load(), parse_pairs(options), what=f"--judge-option: judge '{name}'")
    try:
        judge = entry.create(**settings)
    except TypeError as exc:
        raise HarnessError(f"judge '{name}' rejected the options {settings}: {exc}") from None
    loader = getattr(judge, "load", None)
    if load and callable(loader):
        loader()
    return judge


def judge_name_for(task: Any, name: str | None) -> str:
    """``name`` (``--judge``), else the judge the task declares (`Task.default_judge`)."""
    chosen = name or getattr(task, "default_judge", None)
    if not chosen:
        raise HarnessError(f"task '{task.name}' needs a judge and declares no default: pass --judge NAME "
                           "(`harness list judges`)")
    return chosen


def judge_for(task: Any, name: str | None = None, options: Sequence[str] = (), *, load: bool = True) -> Judge | None:
    """The judge a task is scored with (`create_judge` of `judge_name_for`), or None for a task that needs none."""
    if not getattr(task, "needs_judge", False):
        return None
    return create_judge(judge_name_for(task, name), options, load=load)


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
    """Completions of one judge on disk: a JSONL file of ``{"judge", "prompt_sha256", "completion"}``.

    Torn and damaged lines follow the one policy of `harness.jsonl` (a torn last line is ignored and cut
    before the next append; a bad complete line is an error and nothing is cut). Appends hold a lock file,
    so two processes scoring at once interleave whole lines only, and each reads what the other added."""

    def __init__(self, directory: str | Path, judge_id: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", judge_id).strip("_")[:60]
        self.judge_id = judge_id
        self.path = Path(directory) / f"{slug}-{prompt_key(judge_id)[:12]}.jsonl"
        self._log = JsonlLog(self.path, shared=True)
        self._entries: dict[str, str] = {}
        self._read()

    def _read(self) -> None:
        try:
            rows = self._log.load(lambda entry: (entry.get("judge"), str(entry["prompt_sha256"]),
                                                 str(entry["completion"])))
        except DamagedLine as exc:
            raise HarnessError(
                f"judge cache {self.path} line {exc.number} is corrupt ({type(exc.error).__name__}); "
                "delete the file to rebuild it"
            ) from None
        self._entries.update((key, completion) for judge, key, completion in rows if judge == self.judge_id)

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, items: Iterable[tuple[str, str]]) -> None:
        """Append (prompt key, completion) pairs and flush them to disk before returning."""
        items = list(items)
        self._log.append(({"judge": self.judge_id, "prompt_sha256": k, "completion": c} for k, c in items),
                         reload=self._read)
        self._entries.update(items)


OFFICIAL_BATCH_SIZE = 8
"""green_score's batch size: the official scorer's batches within one GREEN call."""


def batching_mode(judge: Judge) -> str:
    """``official`` for a judge whose completions depend on its batch (it declares ``batching = "official"``)."""
    return "official" if getattr(judge, "batching", "default") == "official" else "default"


def official_batches(calls: Sequence[Sequence[str]]) -> list[list[str]]:
    """The batches green_score sends for the official script's GREEN calls: each call in order, 8 at a time."""
    return [list(call[s:s + OFFICIAL_BATCH_SIZE]) for call in calls for s in range(0, len(call), OFFICIAL_BATCH_SIZE)]


def batch_key(batch: Sequence[str], index: int) -> str:
    """Cache key of the prompt at ``index`` of an official batch: the whole batch decides its completion."""
    return hashlib.sha256("\0".join(["official", str(index), *batch]).encode("utf-8")).hexdigest()


class GreenScorer:
    """GREEN completions for (reference, candidate) pairs through one judge.

    ``cache_dir=None`` keeps completions in memory only (still sent once per distinct prompt). Prompts go to
    the judge ``batch_size`` at a time (default: the judge's own ``batch_size``, else 8). A judge in
    ``official`` batching mode is sent the official scorer's batches, duplicates included, and cached per
    batch position."""

    def __init__(self, judge: Judge, cache_dir: str | Path | None = None, batch_size: int | None = None,
                 progress: bool = True) -> None:
        if batch_size is None:
            own = getattr(judge, "batch_size", None)
            batch_size = own if isinstance(own, int) and not isinstance(own, bool) and own > 0 else 8
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

    @property
    def batching(self) -> str:
        return batching_mode(self.judge)

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
        # Longest first: batches of similar lengths pad less, and the slowest batches show up early in the ETA.
        order = sorted(missing.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        self._send([order[s:s + self.batch_size] for s in range(0, len(order), self.batch_size)])
        return [self._lookup(k) or "" for k in keys]

    def complete_calls(self, calls: Sequence[Sequence[str]]) -> list[list[str]]:
        """Completions for the official script's GREEN calls (lists of prompts, in its order), grouped alike.

        Default mode: every distinct prompt once (`complete`). Official mode: `official_batches`, each sent
        as it is unless every position is cached."""
        if self.batching != "official":
            flat = iter(self.complete([p for call in calls for p in call]))
            return [[next(flat) for _ in call] for call in calls]
        batches = official_batches(calls)
        keyed = [[(batch_key(batch, i), p) for i, p in enumerate(batch)] for batch in batches]
        distinct = {k for batch in keyed for k, _ in batch}
        missing: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for batch in keyed:
            if any(self._lookup(k) is None for k, _ in batch):
                missing.setdefault(tuple(k for k, _ in batch), batch)
        self.stats.prompts += sum(len(b) for b in batches)
        self.stats.distinct += len(distinct)
        self.stats.cached += len(distinct) - sum(len(b) for b in missing.values())
        self._send(list(missing.values()))
        flat = iter(self._lookup(k) or "" for batch in keyed for k, _ in batch)
        return [[next(flat) for _ in call] for call in calls]

    def _send(self, batches: list[list[tuple[str, str]]]) -> None:
        if not batches:
            return
        from tqdm.auto import tqdm

        with tqdm(total=sum(len(b) for b in batches), desc=f"GREEN judge ({self.judge.id})", unit="prompt",
                  disable=None if self.progress else True) as bar:  # None: only on a terminal
            for batch in batches:
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
