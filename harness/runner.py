"""The run loop, one pass: records -> requests -> batches -> generations -> predictions -> scores -> result.

    >>> from harness.runner import RunConfig, run
    >>> result = run(RunConfig(model="MODEL", task="TASK", data="DATA", out_dir="runs/x", limit=2))  # doctest: +SKIP

`run` reads top to bottom: `preflight` (options, task, judge: what can fail fails before any model loads),
`load_data` (`Task.load_data`), `build_requests` (`Task.requests`), `generate_missing` (batches through
`harness.generation`, appended to ``out_dir/predictions.jsonl`` as each batch finishes), `score_with`
(`Task.score`, with the judge), `build_result` (pure, validated against the shipped schema) and
`write_outputs`. Resumable: a rerun into the same folder generates only the requests not in it, and only
when the folder's fingerprint (see `harness.rundir`) matches this run's. Requests are sorted by prompt length
so batches pad little. Under ``torchrun`` each rank takes a deterministic shard (every WORLD_SIZE-th request)
and writes its own file; rank 0 waits for the others, merges and scores. The options and their checks live
in `harness.runoptions`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import plugins
from harness.atomic import write_json_atomic
from harness.distributed import Distributed
from harness.errors import HarnessError
from harness.paths import judge_cache_dir
from harness.predictions import PredictionStore
from harness.rundir import RunDir
from harness.runoptions import RunConfig, apply_limit, auto_batch_size, check_device
from harness.task import Prediction, Request

SCHEMA_VERSION = 1


def build_requests(task: Any, cases: Sequence[Any], *, style: str, image_tokens: str, tokenizer: Any,
                   decoding: dict[str, Any], reference: bool = False) -> list[Request]:
    """Every case's requests, each decoding as its scope declares (the reference scripts' way with
    ``reference``), then ``decoding`` over it."""
    requests: list[Request] = []
    for case in cases:
        for request in task.requests(case, style=style, image_tokens=image_tokens, tokenizer=tokenizer):
            base = task.decoding_for(request.scope, reference=True) if reference else request.decoding
            request.decoding = {**base, **decoding}
            requests.append(request)
    keys = [r.key for r in requests]
    if len(set(keys)) != len(keys):
        raise HarnessError(f"task '{task.name}' produced duplicate request keys; case ids must be unique")
    return requests


def check_reference_decoding(task: Any, config: RunConfig) -> None:
    if config.reference_decoding and not task.reference_decoding:
        raise HarnessError(f"--set decoding=reference: task '{task.name}' declares no reference decoding")


def decoding_by_scope(requests: Sequence[Request], seed: int | None) -> dict[str, Any]:
    """``{scope: {"strategy": "greedy"|"sampled", **options}}`` as the requests of each scope generate; a
    scope whose requests decode in several ways gets the list of its distinct settings."""
    found: dict[str, list[dict[str, Any]]] = {}
    for request in requests:
        sampled = bool(request.decoding.get("do_sample"))
        entry = {"strategy": "sampled" if sampled else "greedy", **request.decoding,
                 **({"seed": seed} if sampled else {})}
        variants = found.setdefault(request.scope, [])
        if entry not in variants:
            variants.append(entry)
    return {scope: variants[0] if len(variants) == 1 else variants for scope, variants in found.items()}


def load_generator(config: RunConfig) -> Any:
    """The model and tokenizer of a run (`harness.generation.Generator`); `preflight` checks the options first."""
    from harness.generation import Generator

    return Generator.load(config.model, device=config.device, dtype=config.dtype, on_bad_case=config.on_bad_case,
                          seed=config.seed, llm_options=config.llm_options or None,
                          cache_implementation=None if config.cache_implementation == "dynamic"
                          else config.cache_implementation)


def check_style(task: Any, style: str) -> str:
    """``style`` if the task renders it; otherwise one line naming the styles it does render."""
    if style not in task.prompt_styles:
        raise HarnessError(f"task '{task.name}' renders the prompt styles {', '.join(task.prompt_styles)}, not the "
                           f"model's '{style}'; pass --set style={task.prompt_styles[0]}")
    return style


def preflight(config: RunConfig) -> tuple[Any, Any]:
    """(task, judge) after checking the options and the device: what can fail fails before any model loads.
    The judge is resolved and its options typed (`harness.scoring.judging.judge_for`) but not yet loaded."""
    from harness.scoring.judging import judge_for

    config.validate()
    check_device(config.device)
    _check_model_name(config.model)
    task = plugins.registry("tasks").create(config.task)
    check_reference_decoding(task, config)
    if config.model in plugins.registry("models"):  # a zoo recipe states its style: check it before loading
        check_style(task, config.style or plugins.registry("models").create(config.model).prompt_style)
    return task, judge_for(task, config.judge, config.judge_options, load=False)


def run(config: RunConfig, *, progress: bool = True, generator: Any = None) -> dict[str, Any]:
    """Generate every missing prediction, then score; returns the result object written to result.json
    (``{}`` on a non-zero rank under torchrun: rank 0 scores). ``generator`` reuses a loaded model (several
    tasks in one invocation)."""
    started = time.perf_counter()
    task, judge = preflight(config)
    dist = Distributed.from_env()
    with RunDir(config.resolved_out_dir(), rank=dist.rank) as folder:
        if not config.overwrite and config.model in plugins.registry("models"):  # before minutes of loading
            folder.expect("model.name", plugins.registry("models").create(config.model).name or config.model)
        cases, data_info = load_data(task, config.data or task.default_data, config.split, config.limit)
        generator = generator or load_generator(config)
        style = check_style(task, config.style or generator.recipe.prompt_style)
        requests = sorted(build_requests(task, cases, style=style, image_tokens=generator.image_tokens,
                                         tokenizer=generator.tokenizer, decoding=config.decoding,
                                         reference=config.reference_decoding),
                          key=lambda r: (len(r.prompt), r.key))
        decoding = decoding_by_scope(requests, config.seed)
        model_info = generator.model_info(config.model)
        folder.start(fingerprint(model_info, task, style, decoding, data_info), overwrite=config.overwrite)
        stores = _stores(folder.path, dist)  # a damaged predictions file stops the run here, before any change
        batch_size = auto_batch_size(generator.device) if config.batch_size == "auto" else int(config.batch_size)
        try:
            generated = generate_missing(task, judge, generator, requests, stores, dist, folder.path,
                                         batch_size=batch_size, progress=progress, overwrite=config.overwrite)
            if generated is None:
                return {}
            predictions, bad_cases = generated
            scored_cases = [c for c in cases if c.case_id not in bad_cases]
            scores = score_with(task, predictions, scored_cases, judge=judge,
                                cache_dir=judge_cache_dir(config.cache_dir))
            wall = folder.add_wall_time(time.perf_counter() - started)
            result = build_result(
                model=model_info, task=task, data=scored_data(data_info, scored_cases),
                judge=judge, scores=scores, decoding=decoding, bad_cases=bad_cases,
                provenance=_provenance(generator, batch_size, config.seed, wall),
            )
            write_outputs(folder.path, scores, result)
            return result
        finally:
            if not folder.timed:  # an interrupted invocation's time still counts; a full disk must not mask the error
                with contextlib.suppress(OSError):
                    folder.add_wall_time(time.perf_counter() - started)


def _stores(out_dir: Path, dist: Distributed) -> tuple[PredictionStore, PredictionStore]:
    """(this rank's store, the merged store); the same store without torchrun."""
    if dist.world_size == 1:
        store = PredictionStore(out_dir / "predictions.jsonl")
        return store, store
    return (PredictionStore(out_dir / f"predictions.rank{dist.rank}.jsonl"),
            PredictionStore(out_dir / "predictions.jsonl"))


def generate_missing(task: Any, judge: Any, generator: Any, requests: Sequence[Request],
                     stores: tuple[PredictionStore, PredictionStore], dist: Distributed, out_dir: Path, *,
                     batch_size: int, progress: bool,
                     overwrite: bool = False) -> tuple[list[Prediction], dict[str, str]] | None:
    """Generate the requests not yet in the stores (this rank's shard); returns every prediction of
    ``requests`` and the cases skipped as unreadable (case id -> reason), or None on a non-zero rank.

    A case skipped in an earlier invocation has no prediction, so it is tried again and reported again."""
    store, merged = stores
    if dist.world_size > 1:
        _init_process_group()
    # With --overwrite another rank may read the merged file before rank 0 removed it: only rank 0 trusts it then.
    merged_done = merged.done if not (overwrite and not dist.is_main) else set()
    todo = [r for r in dist.shard(requests) if r.key not in store.done and r.key not in merged_done]
    if judge is not None and callable(getattr(judge, "load", None)) and dist.is_main:
        judge.load()  # a judge that cannot load fails now, not after hours of generation
    bad_cases = generator.generate_all(task, todo, store, batch_size=batch_size, progress=progress and dist.is_main)
    if dist.world_size > 1:
        write_json_atomic(out_dir / f"bad_cases.rank{dist.rank}.json", bad_cases)
        _barrier()
        if not dist.is_main:
            return None
        for rank in range(dist.world_size):
            merged.append(PredictionStore(out_dir / f"predictions.rank{rank}.jsonl").items())
            bad_cases = {**_read_json(out_dir / f"bad_cases.rank{rank}.json"), **bad_cases}
    wanted = {r.key for r in requests}
    return [p for p in merged.items() if p.key in wanted], dict(bad_cases)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write_outputs(out_dir: Path, scores: dict[str, Any], result: dict[str, Any]) -> None:
    """scores.json, then result.json (each atomically): result.json is the run's last file."""
    write_json_atomic(out_dir / "scores.json", scores)
    write_json_atomic(out_dir / "result.json", result)


def _provenance(generator: Any, batch_size: int, seed: int | None, wall: float) -> dict[str, Any]:
    from harness.provenance import collect

    return collect(device=generator.device, dtype=generator.dtype_name, batch_size=batch_size, seed=seed,
                   wall_time_s=wall)


def task_identity(task: Any) -> dict[str, str]:
    """What a fingerprint and a result record of the task: its name and version."""
    return {"name": task.name, "version": str(task.version)}


def fingerprint(model_info: dict[str, Any], task: Any, style: str, decoding: dict[str, Any],
                data_info: dict[str, Any]) -> dict[str, Any]:
    """What made a folder's predictions; a resume must match it exactly (see `harness.rundir`). Weights
    with a sha256 are known by it, so the same checkpoint given by another path still resumes."""
    identity = ["name", "encoder", "projector", "llm", "splice", "sha256", "revision"]
    if "sha256" not in model_info:
        identity.append("weights")
    return {
        "model": {key: model_info[key] for key in identity if key in model_info},
        "task": task_identity(task),
        "prompt_style": style,
        "decoding": decoding,
        "data": {key: data_info[key] for key in ("name", "split", "sha256", "case_ids_sha256", "n_cases")},
    }


def _init_process_group() -> None:
    """Join the torchrun group at the start, with a timeout long enough for the slowest shard to finish."""
    import datetime

    import torch.distributed as torch_dist

    if not torch_dist.is_initialized():
        torch_dist.init_process_group("gloo", timeout=datetime.timedelta(hours=24))


def score_with(task: Any, predictions: Sequence[Prediction], cases: Sequence[Any], *, judge: Any,
               cache_dir: Path) -> dict[str, Any]:
    """``task.score`` (its contract takes ``judge`` and ``cache_dir``: `harness.task.check_task`); a task plugin
    that fails is reported in one line naming it (the predictions are already saved)."""
    try:
        return task.score(predictions, cases, judge=judge, cache_dir=cache_dir)
    except (HarnessError, OSError):
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
    if name in plugins.registry("models") or (Path(name).is_dir() and name.strip()):
        return
    from harness.modeling.loading import refuse_path_that_is_no_checkpoint

    refuse_path_that_is_no_checkpoint(name)
    if "/" not in name:
        plugins.registry("models").get(name)


def case_ids_sha256(case_ids: Sequence[str]) -> str:
    """sha256 of the sorted case ids, one per line: which cases a result covers."""
    return hashlib.sha256("\n".join(sorted(case_ids)).encode()).hexdigest()


def load_data(task: Any, data: str | None, split: str | None,
              limit: int | float | None) -> tuple[list[Any], dict[str, Any]]:
    """The cases asked for and the data identity (`Task.load_data`: name, split used, hub id and revision,
    sha256 of the record files), with the case ids asked for and whether ``limit`` cut the list (``partial``)."""
    if data is None:
        raise HarnessError(f"no data: task '{task.name}' has no default data set; pass --data")
    loaded = task.load_data(data, split=split)
    cases = apply_limit(loaded.cases, limit)
    info = {
        **loaded.identity,
        "case_ids_sha256": case_ids_sha256([c.case_id for c in cases]),
        "n_cases": len(cases),
        "n_cases_available": len(loaded.cases),
        "partial": len(cases) < len(loaded.cases),
    }
    return cases, info


def scored_data(data_info: dict[str, Any], scored_cases: Sequence[Any]) -> dict[str, Any]:
    """The data identity of the cases actually scored (bad cases skipped are not among them)."""
    n = len(scored_cases)
    return {**data_info, "n_cases": n, "case_ids_sha256": case_ids_sha256([c.case_id for c in scored_cases]),
            "partial": n < data_info["n_cases_available"]}


def build_result(*, model: dict[str, Any], task: Any, data: dict[str, Any], judge: Any, scores: dict[str, Any],
                 decoding: dict[str, Any], bad_cases: dict[str, str], provenance: dict[str, Any]) -> dict[str, Any]:
    """The result object (DESIGN "Result files"), validated against the shipped schema: a pure function."""
    from harness.results import validate_result

    result = {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "task": task_identity(task),
        "data": data,
        "judge": getattr(judge, "id", None),
        "scores": scores,
        "decoding": decoding,
        "bad_cases": [[case_id, reason] for case_id, reason in sorted(bad_cases.items())],
        "provenance": provenance,
        "source": "measured",
    }
    validate_result(result)
    return result
