"""Read the result files of a results folder: validate each, check paths and duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.atomic import write_bytes_atomic
from harness.errors import HarnessError
from harness.leaderboard.cases import PredictionsError, predictions_path, scored_predictions
from harness.leaderboard.result import Result
from harness.results import read_result


def expected_path(data: dict[str, Any]) -> str:
    """Where a result belongs inside the results folder."""
    return f"{data['model']['name']}/{data['task']['name']}.json"


def collect(results_dir: str | Path) -> tuple[list[Result], list[str]]:
    """All valid results (sorted by path) and one line per problem found."""
    root = Path(results_dir)
    if not root.is_dir():
        raise HarnessError(f"{root}: no such results folder; pass --results DIR (default leaderboard/results)")
    results: list[Result] = []
    problems: list[str] = []
    claimed: dict[tuple[str, ...], str] = {}
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        try:
            data = read_result(path)
        except HarnessError as exc:
            problems.append(str(exc))
            continue
        if relative != expected_path(data):
            problems.append(f"{path}: model {data['model']['name']!r} and task {data['task']['name']!r} "
                            f"belong in {root / expected_path(data)}; move the file there")
            continue
        result = Result(relative, data)
        if result.key in claimed:
            problems.append(f"{path}: duplicate of {root / claimed[result.key]} (same model, task, data set, "
                            f"split and judge); keep one of them")
            continue
        claimed[result.key] = relative
        results.append(result)
    return results, problems


def is_partial(data: dict[str, Any]) -> bool:
    """Whether a result scored only part of its data set (``harness run --limit``)."""
    return bool(data["data"].get("partial", False))


def add_run(run_dir: Path, results_dir: Path = Path("leaderboard/results"), *, force: bool = False,
            allow_partial: bool = False) -> Path:
    """Validate ``run_dir/result.json`` and copy it to ``results_dir/<model>/<task>.json``, with the run's
    predictions (those of the scored cases, sorted) beside it as ``<task>.predictions.jsonl`` for the
    per-case browser. Returns the result file written (the predictions file is `cases.predictions_path` of it).

    A partial run (``data.partial``) is refused unless `allow_partial`; the board then marks it as partial.
    Both files are written atomically, the predictions first, so a result never points at half a file.
    """
    run_dir = Path(run_dir)
    source = run_dir / "result.json"
    if not source.is_file():
        raise HarnessError(f"{source}: no such file; pass the --out folder of a finished `harness run`")
    data = read_result(source)
    if is_partial(data) and not allow_partial:
        raise HarnessError(f"{source}: a partial run ({data['data']['n_cases']} cases, e.g. from --limit); rerun "
                           "it on the whole data set, or pass --allow-partial to add it marked as partial")
    target = Path(results_dir) / expected_path(data)
    if target.exists() and not force:
        raise HarnessError(f"{target} exists; pass --force to replace it")
    predictions = Path(results_dir) / predictions_path(expected_path(data))
    if (run_dir / "predictions.jsonl").is_file():
        try:
            lines = scored_predictions(run_dir / "predictions.jsonl", data)
        except PredictionsError as exc:
            raise HarnessError(str(exc)) from None
        write_bytes_atomic(predictions, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in lines).encode())
    elif predictions.exists():
        predictions.unlink()  # the old run's texts would not match the new scores
    write_bytes_atomic(target, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    return target
