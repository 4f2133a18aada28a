"""Bad inputs to `harness leaderboard`: one `error:` line naming the input and the fix; nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from badinput import assert_one_line_error, run_cli, snapshot
from test_leaderboard import measured_report


def _run(tmp_path: Path, *, partial: bool = False, predictions: str | None = None, result: dict | None = None) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    data = result if result is not None else measured_report("demo-x", 0.1, n=3)
    if partial:
        data["data"]["partial"] = True
    (run / "result.json").write_text(json.dumps(data))
    if predictions is not None:
        (run / "predictions.jsonl").write_text(predictions)
    return run


def _existing(tmp_path: Path) -> Path:
    run = _run(tmp_path)
    target = tmp_path / "results" / "demo-x" / "flare_report.json"
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    return run


CASES: dict[str, tuple[Callable[[Path], Path], list[str], list[str]]] = {
    # name: (make the run folder, extra arguments, what the error line must name)
    "no result.json": (lambda tmp: tmp / "nowhere", [], ["nowhere/result.json", "--out folder"]),
    "partial run": (lambda tmp: _run(tmp, partial=True), [], ["run/result.json", "partial", "--allow-partial"]),
    "invalid result": (lambda tmp: _run(tmp, result={"schema_version": 1}), [], ["run/result.json", "invalid"]),
    "torn predictions": (lambda tmp: _run(tmp, predictions='{"key": "case000/report/0"\n'), [],
                         ["run/predictions.jsonl:1", "not JSON"]),
    "not a prediction": (lambda tmp: _run(tmp, predictions='{"key": "case000/report/0"}\n'), [],
                         ["run/predictions.jsonl:1", "missing case_id, scope, prediction"]),
    "existing result": (_existing, [], ["demo-x/flare_report.json", "--force"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_leaderboard_add_bad_input(name: str, tmp_path: Path) -> None:
    make, extra, names = CASES[name]
    run = make(tmp_path)
    results = tmp_path / "results"
    before = snapshot(results)
    outcome = run_cli("leaderboard", "add", str(run), "--results", str(results), *extra)
    assert_one_line_error(outcome, *names)
    assert snapshot(results) == before


@pytest.mark.parametrize("command", ["build", "check"])
def test_leaderboard_without_a_results_folder(command: str, tmp_path: Path) -> None:
    outcome = run_cli("leaderboard", command, "--results", str(tmp_path / "missing"), "--out", str(tmp_path / "out"))
    assert_one_line_error(outcome, "missing", "--results DIR")
    assert not (tmp_path / "out").exists()
