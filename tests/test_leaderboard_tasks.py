"""The leaderboard and result validation take their columns and checks from the installed tasks' metric specs.

A tiny task plugin, written into a module loaded with ``-p``, declares a lower-is-better error, a fraction and a
per-region breakdown; its result files must give a board of its own columns, sorted its way, with its own table.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import sys
import textwrap
from pathlib import Path

import pytest

from harness import plugins
from harness.cli.main import main
from harness.errors import HarnessError
from harness.leaderboard.boards import make_document
from harness.leaderboard.cases import case_views
from harness.leaderboard.collect import collect
from harness.results import installed_task, validate_result

PLUGIN = '''
    from harness import hookimpl
    from harness.task import LoadedData, MetricSpec, Task


    class Distance(Task):
        """Estimate a distance; scored by its absolute error (lower is better) and a hit rate."""

        name, version, data_format = "toy_distance", "1", "toy-jsonl"
        metrics = (
            MetricSpec("abs_error", "Abs. error (mm)", higher_is_better=False, primary=True, count_key="n_cases"),
            MetricSpec("hit_rate", "Within 5 mm", bounds=(0.0, 1.0), scope="answer"),
            MetricSpec("by_region", "Abs. error by region", aggregate="breakdown", parts="region",
                       description="mean over the cases of the region"),
        )
        decoding = {"answer": {"do_sample": False, "max_new_tokens": 8}}

        def load_data(self, data, *, split=None):
            return LoadedData([], {"name": str(data), "split": split or "test"})

        def requests(self, case, *, style, image_tokens, tokenizer):
            return []

        def parse(self, request, completion):
            return completion.strip()

        def score(self, predictions, cases, *, judge=None, cache_dir=None):
            return {"task": self.name}


    @hookimpl
    def register_tasks(register):
        register("toy_distance", Distance, description="a toy distance task")
'''

PROVENANCE = {
    "harness_version": "0.1.0", "git": {"commit": "2e2d5a4", "dirty": False}, "plugins": {"toy": "1"},
    "torch": "2.13.0", "transformers": "5.24.0", "device": "cpu", "dtype": "float32", "batch_size": 1, "seed": 0,
    "date": "2025-07-01T12:00:00+00:00", "wall_time_s": 1.0,
}


def toy_result(model: str, error: float, hit_rate: float, *, n: int = 4, task: str = "toy_distance") -> dict:
    per_case = {f"c{i}": {"abs_error": error + i - (n - 1) / 2, "hit_rate": hit_rate} for i in range(n)}
    return {
        "schema_version": 1,
        "model": {"name": model, "encoder": "enc", "projector": "proj", "llm": "llm", "weights": f"runs/{model}",
                  "sha256": "0" * 64},
        "task": {"name": task, "version": "1"},
        "data": {"name": "toy", "split": "test", "sha256": "a" * 64, "n_cases": n},
        "judge": None,
        "scores": {"task": task, "abs_error": error, "hit_rate": hit_rate, "n_cases": n,
                   "by_region": {"head": error / 2, "knee": error * 2}, "per_case": per_case},
        "decoding": {"answer": {"strategy": "greedy"}},
        "provenance": copy.deepcopy(PROVENANCE),
        "source": "measured",
    }


def write(results: Path, data: dict) -> None:
    path = results / data["model"]["name"] / f"{data['task']['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


@pytest.fixture
def toy_plugin(tmp_path: Path, monkeypatch) -> str:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "toy_task_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(folder))
    plugins.configure(modules=["toy_task_plugin"])
    yield "toy_task_plugin"
    plugins.configure()
    sys.modules.pop("toy_task_plugin", None)


@pytest.fixture
def toy_results(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    write(results, toy_result("close", 1.5, 0.5))
    write(results, toy_result("far", 9.0, 0.75))
    write(results, toy_result("closest", 0.5, 0.25))
    return results


def _board(results: Path) -> dict:
    found, problems = collect(results)
    assert problems == []
    (board,) = make_document(found)["boards"]
    return board


def test_the_board_has_the_tasks_columns_sorted_its_way(toy_plugin: str, toy_results: Path) -> None:
    board = _board(toy_results)
    assert board["metrics"] == [
        {"key": "abs_error", "label": "Abs. error (mm)", "task": "toy_distance", "higher_is_better": False},
        {"key": "hit_rate", "label": "Within 5 mm", "task": "toy_distance", "higher_is_better": True},
    ]
    assert [row["model"] for row in board["rows"]] == ["closest", "close", "far"]  # lowest error first
    (table,) = board["breakdowns"]
    assert (table["key"], table["label"], table["parts"], table["names"]) == (
        "by_region", "Abs. error by region", "region", ["head", "knee"])
    assert board["rows"][0]["breakdowns"]["by_region"] == {"head": 0.25, "knee": 1.0}
    assert board["task_notes"] == []


def test_cli_build_renders_the_tasks_own_board(toy_plugin: str, toy_results: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "board"
    assert main(["-p", toy_plugin, "leaderboard", "build", "--results", str(toy_results), "--out", str(out)]) == 0
    readme = (out / "README.md").read_text()
    assert "| Abs. error (mm) " in readme and "| Within 5 mm " in readme
    ranks = [line.split("|")[2].strip() for line in readme.split("## toy")[1].splitlines() if line.startswith("| 1")
             or line.startswith("| 2") or line.startswith("| 3")][:3]
    assert ranks == ["`closest`", "`close`", "`far`"]
    assert "### Abs. error by region: mean over the cases of the region" in readme
    assert "| region " in readme
    page = (out / "index.html").read_text()
    assert '<th data-type="num" data-metric="abs_error" data-better="lower" title="lower is better">' in page
    assert 'id="by_region-toy-test-no-judge"' in page
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    assert {(r["model"], r["metric"], r["part"]) for r in rows if r["metric"] == "by_region"} >= {
        ("far", "by_region", "knee")}
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["toy-test-no-judge-regions.png",
                                                                   "toy-test-no-judge-scores.png"]
    capsys.readouterr()
    assert main(["-p", toy_plugin, "leaderboard", "check", "--results", str(toy_results), "--out", str(out)]) == 0


def test_a_task_that_is_not_installed_still_shows_with_a_note(toy_results: Path) -> None:
    assert installed_task("toy_distance") is None
    reordered = toy_result("other", 2.0, 0.1)
    reordered["scores"] = {"task": "toy_distance", "hit_rate": 0.1, "abs_error": 2.0, "n_cases": 4}  # other order
    write(toy_results, reordered)
    board = _board(toy_results)
    assert [m["label"] for m in board["metrics"]] == ["toy_distance abs_error", "toy_distance hit_rate"]
    assert board["breakdowns"] == []
    assert [row["model"] for row in board["rows"]] == ["far", "other", "close", "closest"]  # higher taken as better
    assert board["rows"][1]["metrics"]["hit_rate"]["value"] == 0.1
    (note,) = board["task_notes"]
    assert "task 'toy_distance' is not installed" in note


def test_the_tasks_metric_specs_validate_its_scores(toy_plugin: str) -> None:
    validate_result(toy_result("a", 1.0, 0.5))
    for mutate, where in [
        (lambda s: s.pop("abs_error"), "$.scores: 'abs_error' is a required property of toy_distance scores"),
        (lambda s: s.__setitem__("hit_rate", 1.5), "$.scores.hit_rate: 1.5 is outside [0, 1]"),
        (lambda s: s.__setitem__("abs_error", "small"), "$.scores.abs_error: 'small' is not a finite number"),
        (lambda s: s.__setitem__("abs_error", None), "$.scores.abs_error: None is not a number"),
        (lambda s: s.__setitem__("by_region", 3.0), "$.scores.by_region: 3.0 is not an object of region -> number"),
        (lambda s: s["by_region"].__setitem__("head", "x"), "$.scores.by_region.head: 'x' is not a finite number"),
        (lambda s: s.pop("n_cases"), "'n_cases' is a required property of toy_distance scores"),
        (lambda s: s.__setitem__("n_cases", -1), "$.scores.n_cases: -1 is not a count"),
    ]:
        data = toy_result("a", 1.0, 0.5)
        mutate(data["scores"])
        with pytest.raises(HarnessError) as info:
            validate_result(data, "a/toy_distance.json")
        message = str(info.value)
        assert "\n" not in message and message.startswith("a/toy_distance.json: invalid result file at ")
        assert where in message, message


def test_a_reported_result_may_leave_a_figure_null(toy_plugin: str) -> None:
    data = toy_result("a", 1.0, 0.5)
    data.update(source="reported", citation={"url": "https://example.org/paper"}, provenance=None)
    data["scores"]["hit_rate"] = None
    validate_result(data)


def test_the_flare_specs_refuse_a_report_result_without_green_or_judge() -> None:
    from test_results_schema import measured_report

    data = measured_report()
    data["scores"].pop("green")
    with pytest.raises(HarnessError, match=r"at \$\.scores: 'green' is a required property of flare_report"):
        validate_result(data)
    data = measured_report()
    data["scores"].pop("judge")
    with pytest.raises(HarnessError, match=r"at \$\.scores\.judge: None is not a judge id; flare_report is judged"):
        validate_result(data)


def test_the_browser_grades_answers_by_the_metric_of_their_scope(toy_plugin: str, toy_results: Path) -> None:
    found, _ = collect(toy_results)
    result = next(r for r in found if r.path == "close/toy_distance.json")
    rows = [{"key": "c0/answer/0", "case_id": "c0", "scope": "answer", "question_id": None, "question": "how far?",
             "prediction": "12", "reference": "11"}]
    (view,) = case_views(result, rows)
    assert (view.case_id, view.task, view.parts) == ("c0", "toy_distance", None)
    assert view.scores == {"Abs. error (mm)": 0.0, "Within 5 mm": 0.5}
    (item,) = view.items
    assert (item.label, item.score, item.grade) == ("answer · how far?", 0.5, "partly")


def test_add_refuses_predictions_whose_case_ids_are_not_the_per_case_keys(tmp_path: Path) -> None:
    from harness.leaderboard.collect import add_run

    run = tmp_path / "run"
    run.mkdir()
    data = toy_result("a", 1.0, 0.5)
    (run / "result.json").write_text(json.dumps(data))
    (run / "predictions.jsonl").write_text(json.dumps({"key": "c9.nii.gz/answer/0", "case_id": "c9.nii.gz",
                                                       "scope": "answer", "prediction": "1"}) + "\n")
    with pytest.raises(HarnessError, match=r"none of its case ids is a key of the result's scores\.per_case "
                                           r"\(e\.g\. 'c9\.nii\.gz' against 'c0'\)"):
        add_run(run, tmp_path / "results")
    assert not (tmp_path / "results").exists()


def test_a_case_id_with_its_file_extension_joins_the_per_case_key_without_it():
    """Scorers that compare ids without image extensions (e.g. ``c0`` for ``c0.nii.gz``) key per_case by those."""
    from harness.leaderboard.cases import _per_case_key

    assert _per_case_key({"c0": 1.0, "c0.nii": 0.5}, "c0.nii.gz") == "c0.nii"
    assert _per_case_key({"c0": 1.0}, "c0.nii.gz") == "c0"
    assert _per_case_key({"c0": 1.0}, "c01.nii.gz") is None
    assert _per_case_key({"sub/c0": 1.0}, "sub/c0.npy") == "sub/c0"
