"""Read the result files of a results folder: validate each, check paths and duplicates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.results import read_result


@dataclass(frozen=True)
class Result:
    path: str
    """Path relative to the results folder, with '/' separators (``<model>/<task>.json``)."""
    data: dict[str, Any]

    @property
    def judge(self) -> str | None:
        return self.data.get("judge")

    @property
    def key(self) -> tuple[str, ...]:
        """What a result claims: (model, task, data set, split, judge), case-folded; two files may not share one.

        Case-folded because ``Med3DVLM/`` and ``med3dvlm/`` are one folder on case-insensitive file systems.
        """
        d = self.data
        parts = (d["model"]["name"], d["task"]["name"], d["data"]["name"], d["data"]["split"], self.judge or "")
        return tuple(part.casefold() for part in parts)


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


def add_run(run_dir: Path, results_dir: Path = Path("leaderboard/results"), *, force: bool = False) -> Path:
    """Validate ``run_dir/result.json`` and copy it to ``results_dir/<model>/<task>.json``."""

    source = Path(run_dir) / "result.json"
    if not source.is_file():
        raise HarnessError(f"{source}: no such file; pass the --out folder of a finished `harness run`")
    data = read_result(source)
    target = Path(results_dir) / expected_path(data)
    if target.exists() and not force:
        raise HarnessError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
