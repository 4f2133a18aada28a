"""Build the generated leaderboard files, and check a checkout against a fresh build."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.atomic import write_bytes_atomic
from harness.errors import HarnessError
from harness.leaderboard.boards import make_document
from harness.leaderboard.cases import CaseView, load_case_views, predictions_path
from harness.leaderboard.collect import collect
from harness.leaderboard.page import html
from harness.leaderboard.plots import render_plots
from harness.leaderboard.result import Result
from harness.leaderboard.tables import board_title, csv_text, markdown

GENERATED = ("README.md", "leaderboard.csv", "leaderboard.json", "index.html")
PLOTS_DIR = "plots"


def _links(results_dir: str | Path, out_dir: str | Path | None) -> str:
    """How the page links to the results folder: relative to the output folder ("results" in the repository)."""
    if out_dir is None:
        return "results"
    return Path(os.path.relpath(Path(results_dir).resolve(), Path(out_dir).resolve())).as_posix()


def _gather(results_dir: str | Path) -> tuple[list[Result], dict[str, list[CaseView]], list[str]]:
    results, problems = collect(results_dir)
    if problems:
        return results, {}, problems
    views, problems = load_case_views(Path(results_dir), results)
    return results, views, problems


def render(results_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, bytes]:
    """Every generated file (path relative to the output folder -> bytes), from valid, unique results.

    Raises HarnessError listing the problems when a result or predictions file is invalid, misplaced or
    duplicated.
    """
    results, views, problems = _gather(results_dir)
    if problems:
        raise HarnessError(f"{len(problems)} problem(s) in {results_dir}: " + "; ".join(problems))
    return _render(results, views, _links(results_dir, out_dir))


def _render(results: list[Result], views: dict[str, list[CaseView]], links: str) -> dict[str, bytes]:
    document = make_document(results, {predictions_path(path) for path in views})
    files = {
        "README.md": markdown(document).encode(),
        "leaderboard.csv": csv_text(document).encode(),
        "leaderboard.json": (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode(),
        "index.html": html(document, views, links=links).encode(),
    }
    for board in document["boards"]:
        files.update(render_plots(board, board_title(board), document["colours"]))
    return files


def _stale_plots(out: Path, fresh: dict[str, bytes]) -> list[str]:
    plots = out / PLOTS_DIR
    existing = sorted(p.relative_to(out).as_posix() for p in plots.glob("*.png")) if plots.is_dir() else []
    return [name for name in existing if name not in fresh]


def build(results_dir: str | Path = "leaderboard/results", out_dir: str | Path = "leaderboard") -> list[Path]:
    """Write the generated files into `out_dir` (and delete plots no board makes any more)."""
    files = render(results_dir, out_dir)
    out = Path(out_dir)
    for name in _stale_plots(out, files):
        (out / name).unlink()
    written = []
    for name, content in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            write_bytes_atomic(path, content)
        written.append(path)
    return written


def check(results_dir: str | Path = "leaderboard/results", out_dir: str | Path = "leaderboard") -> list[str]:
    """One line per problem: invalid, misplaced or duplicated result files; predictions files without their
    result or naming cases it did not score; generated files that differ from a fresh build, are missing, or
    are left over. An empty list means all is well."""
    results, views, problems = _gather(results_dir)
    if problems:
        return problems
    fresh = _render(results, views, _links(results_dir, out_dir))
    out = Path(out_dir)
    for name, content in fresh.items():
        path = out / name
        if not path.is_file():
            problems.append(f"{path}: missing; run `harness leaderboard build` and commit the result")
        elif path.read_bytes() != content:
            problems.append(f"{path}: differs from a fresh build; run `harness leaderboard build` and commit it")
    problems += [f"{out / name}: no board makes this plot any more; run `harness leaderboard build`"
                 for name in _stale_plots(out, fresh)]
    return problems
