"""The run loop: cases -> requests -> batches -> generations -> predictions -> scores -> result.

    >>> from harness.runner import RunConfig, run
    >>> config = RunConfig(model="med3dvlm-demo", task="flare_vqa", data="demo", out_dir="runs/x")
    >>> result = run(config)  # doctest: +SKIP

Resumable: predictions are appended to ``out_dir/predictions.jsonl`` as each batch finishes; a rerun into
the same folder generates only the requests not in it. Requests are sorted by prompt length so batches pad
little. Under ``torchrun`` each rank takes a deterministic shard (every WORLD_SIZE-th request) and writes
its own file; rank 0 waits for the others, merges and scores.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import plugins
from harness.errors import HarnessError
from harness.predictions import PredictionStore, write_json_atomic
from harness.task import Prediction, Request

SCHEMA_VERSION = 1


@dataclass
class RunConfig:
    model: str
    task: str
    data: str | None = None
    out_dir: Path | str | None = None
    limit: int | None = None
    batch_size: int = 1
    device: str | None = None
    dtype: str | None = None
    judge: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    """``--set key=value`` overrides: decoding options (``max_new_tokens``, ``decoding=reference``),
    ``style``, ``seed``, ``split``, ``on_bad_case`` (``error`` | ``skip``), ``cache_dir``."""

    def resolved_out_dir(self) -> Path:
        if self.out_dir is not None:
            return Path(self.out_dir)
        safe_model = Path(str(self.model)).name or "model"
        return Path("runs") / f"{safe_model}-{self.task}"


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> Distributed:
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))

    def shard(self, requests: Sequence[Request]) -> list[Request]:
        return list(requests[self.rank :: self.world_size])


def parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    """``["max_new_tokens=64", "style=chat"]`` -> typed dict (ints, floats, booleans, else strings)."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HarnessError(f"--set expects KEY=VALUE, got '{pair}'")
        settings[key.strip()] = _typed(value.strip())
    return settings


def _typed(value: str) -> Any:
    lowered = value.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"none", "null"}:
        return None
    for cast in (int, float):
        with contextlib.suppress(ValueError):
            return cast(value)
    return value


def build_requests(task: Any, cases: Sequence[Any], *, style: str, image_tokens: str, tokenizer: Any,
                   decoding: dict[str, Any]) -> list[Request]:
    requests: list[Request] = []
    for case in cases:
        for request in task.requests(case, style=style, image_tokens=image_tokens, tokenizer=tokenizer):
            request.decoding = {**request.decoding, **decoding}
            requests.append(request)
    keys = [r.key for r in requests]
    if len(set(keys)) != len(keys):
        raise HarnessError(f"task '{task.name}' produced duplicate request keys; case ids must be unique")
    return requests


def batches(requests: Sequence[Request], size: int) -> Iterator[list[Request]]:
    """Consecutive batches of requests with the same decoding options (they share one generate call)."""
    batch: list[Request] = []
    for request in requests:
        if batch and (len(batch) == size or batch[0].decoding != request.decoding):
            yield batch
            batch = []
        batch.append(request)
    if batch:
        yield batch


def decoding_settings(task: Any, settings: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Decoding overrides from ``--set`` and the label recorded in the result (greedy or sampled)."""
    overrides = {k: settings[k] for k in ("max_new_tokens", "do_sample", "top_p", "temperature", "num_beams")
                 if k in settings}
    if settings.get("decoding") == "reference":
        overrides = {**getattr(task, "reference_decoding", {}), **overrides}
    elif settings.get("decoding") not in (None, "greedy"):
        raise HarnessError(f"--set decoding= takes 'greedy' or 'reference', got '{settings['decoding']}'")
    return overrides, "sampled" if overrides.get("do_sample") else "greedy"


def run(config: RunConfig, *, progress: bool = True) -> dict[str, Any]:
    """Generate every missing prediction, then score; returns the result object written to result.json."""
    from harness.generation import Generator

    started = time.perf_counter()
    settings = dict(config.settings)
    task = plugins.registry("tasks").create(config.task)
    judge = _make_judge(task, config.judge)  # fail fast, before any generation
    _check_model_name(config.model)
    out_dir = config.resolved_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    dist = Distributed.from_env()
    if dist.world_size > 1:
        _init_process_group()

    cases, data_info = _load_data(config.data or getattr(task, "default_data", None), settings, config.limit)
    generator = Generator.load(config.model, device=config.device, dtype=config.dtype,
                               on_bad_case=settings.get("on_bad_case", "error"), seed=settings.get("seed"))
    overrides, decoding_label = decoding_settings(task, settings)
    requests = build_requests(task, cases, style=settings.get("style", generator.recipe.prompt_style),
                              image_tokens=generator.image_tokens, tokenizer=generator.tokenizer,
                              decoding=overrides)
    requests.sort(key=lambda r: (len(r.prompt), r.key))

    store_path = out_dir / ("predictions.jsonl" if dist.world_size == 1 else f"predictions.rank{dist.rank}.jsonl")
    store = PredictionStore(store_path)
    merged = PredictionStore(out_dir / "predictions.jsonl") if dist.world_size > 1 else store
    todo = [r for r in dist.shard(requests) if r.key not in store.done and r.key not in merged.done]
    generator.generate_all(task, todo, store, batch_size=config.batch_size, progress=progress and dist.rank == 0)

    if dist.world_size > 1:
        _barrier()
        if dist.rank != 0:
            return {}
        for rank in range(dist.world_size):
            merged.append(PredictionStore(out_dir / f"predictions.rank{rank}.jsonl").items())

    wanted = {r.key for r in requests}
    predictions = [p for p in merged.items() if p.key in wanted]
    scored_cases = [c for c in cases if c.case_id not in generator.bad_cases]
    scores = score_with(task, predictions, scored_cases, judge=judge,
                        cache_dir=Path(settings.get("cache_dir", out_dir / "judge_cache")))
    write_json_atomic(out_dir / "scores.json", scores)
    result = _result(config, task, generator, data_info, judge, scores, decoding_label, requests,
                     time.perf_counter() - started)
    write_json_atomic(out_dir / "result.json", result)
    return result


def _init_process_group() -> None:
    """Join the torchrun group at the start, with a timeout long enough for the slowest shard to finish."""
    import datetime

    import torch.distributed as torch_dist

    if not torch_dist.is_initialized():
        torch_dist.init_process_group("gloo", timeout=datetime.timedelta(hours=24))


def score_with(task: Any, predictions: Sequence[Prediction], cases: Sequence[Any], *, judge: Any,
               cache_dir: Path) -> dict[str, Any]:
    """``task.score``, passing the judge cache folder only to tasks that accept it; a task plugin that
    fails is reported in one line naming it (the predictions are already saved)."""
    options: dict[str, Any] = {"judge": judge}
    if "cache_dir" in inspect.signature(task.score).parameters:
        options["cache_dir"] = cache_dir
    try:
        return task.score(predictions, cases, **options)
    except HarnessError:
        raise
    except Exception as exc:
        raise HarnessError(
            f"task '{task.name}' failed while scoring ({type(exc).__name__}: {exc}); its predictions are saved: "
            f"fix the plugin and rerun the same command to score them"
        ) from exc


def _barrier() -> None:
    import torch.distributed as torch_dist

    torch_dist.barrier()


def _check_model_name(name: str) -> None:
    """A name that is neither a folder nor a hub id must be a zoo model: say so before loading any data."""
    if not Path(name).exists() and "/" not in name:
        plugins.registry("models").get(name)


def _make_judge(task: Any, name: str | None) -> Any:
    if task.name != "flare_report" and not getattr(task, "needs_judge", False):
        return None
    if name is None:
        from harness.scoring.judging import default_judge_name

        name = default_judge_name()
    return plugins.registry("judges").create(name)


def _load_data(data: str | None, settings: dict[str, Any], limit: int | None) -> tuple[list[Any], dict[str, Any]]:
    from harness.data import load_cases
    from harness.provenance import sha256_files

    if data is None:
        raise HarnessError("no data: pass --data DIR, a JSON file, 'demo', or a hub data set id")
    split = settings.get("split")
    cases = load_cases(data, split=split)
    if limit is not None:
        cases = cases[:limit]
    sources = sorted({c.source for c in cases if c.source and Path(c.source).is_file()})
    ids = "\n".join(sorted(c.case_id for c in cases)).encode()
    info = {
        "name": str(data) if not Path(str(data)).exists() else Path(str(data)).name,
        "split": split or "validation",
        "sha256": sha256_files(Path(s) for s in sources) if sources else hashlib.sha256(ids).hexdigest(),
        "n_cases": len(cases),
    }
    return cases, info


def _result(config: RunConfig, task: Any, generator: Any, data_info: dict[str, Any], judge: Any,
            scores: dict[str, Any], decoding_label: str, requests: Sequence[Request], wall: float) -> dict[str, Any]:
    from harness.provenance import collect

    decoding = {"mode": decoding_label, **(requests[0].decoding if requests else {})}
    data_info = {**data_info, "n_cases": data_info["n_cases"] - len(generator.bad_cases)}
    return {
        "schema_version": SCHEMA_VERSION,
        "model": generator.model_info(config.model),
        "task": {"name": task.name, "version": str(getattr(task, "version", "1"))},
        "data": data_info,
        "judge": getattr(judge, "id", None),
        "scores": scores,
        "decoding": decoding,
        "bad_cases": sorted(generator.bad_cases.items()) if generator.bad_cases else [],
        "provenance": collect(device=generator.device, dtype=generator.dtype_name, batch_size=config.batch_size,
                              seed=config.settings.get("seed"), wall_time_s=wall),
        "source": "measured",
    }
