"""`harness leaderboard` build/check/add: boards, intervals, determinism, and the committed files."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli.main import cli
from harness.errors import HarnessError
from harness.leaderboard import build, check
from harness.leaderboard.boards import make_document
from harness.leaderboard.collect import collect
from harness.leaderboard.page import html
from harness.leaderboard.stats import bootstrap_ci, paired_bootstrap
from harness.leaderboard.tables import csv_text, markdown

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "leaderboard" / "results"

MED3DVLM_ORGANS = {
    "lymphatic system": "0.428414", "liver": "0.238982", "mediastinum": "0.25886", "respiratory tract": "0.304454",
    "abdominal cavity and peritoneum": "0.349413", "blood vessels": "0.042941", "esophagus": "0.268233",
    "musculoskeletal system": "0.230568", "endocrine system": "0.123103", "lungs and pleura": "0.117805",
    "heart": "0.283847", "gastrointestinal tract": "0.092696", "kidneys": "0.146798", "pancreas": "0.321114",
    "biliary system": "0.280764", "spleen": "0.369824", "breast tissue": "0.0", "diaphragm": "0.0",
}

PROVENANCE = {
    "harness_version": "0.1.0", "git": {"commit": "2e2d5a4", "dirty": False},
    "plugins": {"med3d-harness": "0.1.0"}, "torch": "2.13.0",
    "transformers": "5.24.0", "device": "cpu", "dtype": "float32", "batch_size": 4, "seed": 0,
    "date": "2025-07-01T12:00:00+00:00", "wall_time_s": 12.5,
}


def _base(model: str, task: str, *, data: str = "demo", n: int = 40) -> dict:
    return {
        "schema_version": 1,
        "model": {"name": model, "encoder": "dcformer", "projector": "mixer", "llm": "tiny-qwen",
                  "weights": f"runs/{model}", "sha256": "0" * 64},
        "task": {"name": task, "version": 1},
        "data": {"name": data, "split": "validation", "sha256": "a" * 64, "n_cases": n},
        "judge": None,
        "decoding": {"strategy": "greedy"},
        "provenance": copy.deepcopy(PROVENANCE),
        "source": "measured",
    }


def measured_report(model: str, offset: float, *, judge: str = "lexical:v1", data: str = "demo", n: int = 40) -> dict:
    """A synthetic measured GREEN result whose per-case scores average to `green`."""
    per_case = {f"case{i:03d}": min(1.0, round(0.2 + offset + 0.3 * ((i * 7) % 10) / 10, 6)) for i in range(n)}
    result = _base(model, "flare_report", data=data, n=n)
    result["judge"] = judge
    green = sum(per_case.values()) / n
    result["scores"] = {"task": "flare_report", "green": green, "organs": {"liver": green, "spleen": 0.25},
                        "organs_all_cases": {"liver": green / 2, "spleen": 0.1}, "n_cases": n, "judge": judge,
                        "per_case": per_case}
    return result


def measured_vqa(model: str, *, data: str = "demo", n: int = 40) -> dict:
    per_case = {f"case{i:03d}": {"global_accuracy": (i % 4) / 4, "n_global": 1 + i % 3,
                                 "local_accuracy": (i % 5) / 5, "n_local": 2} for i in range(n)}
    weights = sum(c["n_global"] for c in per_case.values())
    global_accuracy = sum(c["global_accuracy"] * c["n_global"] for c in per_case.values()) / weights
    local_accuracy = sum(c["local_accuracy"] for c in per_case.values()) / n
    result = _base(model, "flare_vqa", data=data, n=n)
    result["scores"] = {"task": "flare_vqa", "global_accuracy": global_accuracy, "local_accuracy": local_accuracy,
                        "n_global": weights, "n_local": 2 * n, "per_case": per_case}
    return result


def write(results: Path, data: dict) -> Path:
    path = results / data["model"]["name"] / f"{data['task']['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """The committed reported results plus synthetic measured ones on a demo data set."""
    folder = tmp_path / "results"
    for path in RESULTS.glob("*/*.json"):
        if json.loads(path.read_text())["source"] == "reported":
            (folder / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / path.parent.name / path.name)
    write(folder, measured_report("demo-a", 0.0))
    write(folder, measured_report("demo-b", 0.2))
    write(folder, measured_vqa("demo-a"))
    return folder


def document_of(results: Path) -> dict:
    """The leaderboard document (what leaderboard.json holds), without rendering plots."""
    found, problems = collect(results)
    assert problems == []
    return json.loads(json.dumps(make_document(found)))


def _board(document: dict, data: str, judge: str | None) -> dict:
    return next(b for b in document["boards"] if b["data"] == data and b["judge"] == judge)


@pytest.mark.slow
def test_build_twice_gives_identical_bytes(results: Path, tmp_path: Path) -> None:
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in build(results, tmp_path / "a")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in build(results, tmp_path / "b")}
    assert first == second
    assert {str(p) for p in first} >= {"README.md", "leaderboard.csv", "leaderboard.json", "index.html"}
    assert sum(str(p).startswith("plots/") and str(p).endswith(".png") for p in first) == 4
    assert all(b"Software" not in content for p, content in first.items() if str(p).endswith(".png"))


def test_measured_rows_have_a_bootstrap_interval_and_comparisons(results: Path) -> None:
    board = _board(document_of(results), "demo", "lexical:v1")
    assert [row["model"] for row in board["rows"]] == ["demo-b", "demo-a"]
    for row in board["rows"]:
        cell = row["metrics"]["green"]
        assert cell["ci"][0] < cell["value"] < cell["ci"][1]
        assert cell["n_per_case"] == 40
    vqa = board["rows"][1]["metrics"]["global_accuracy"]
    assert vqa["ci"][0] < vqa["value"] < vqa["ci"][1]
    (comparison,) = board["comparisons"]
    assert (comparison["a"], comparison["b"], comparison["n_common"]) == ("demo-a", "demo-b", 40)
    assert comparison["diff"] == pytest.approx(-0.2, abs=1e-6)
    assert comparison["significant"] is True


def test_boards_never_mix_data_sets_or_judges(results: Path) -> None:
    write(results, measured_report("demo-c", 0.1, judge="other-judge:v2"))
    document = document_of(results)
    keys = [(b["data"], b["split"], b["judge"]) for b in document["boards"]]
    assert keys == [("FLARE-Task5-MLLM-3D", "validation", "StanfordAIMI/GREEN-radllama2-7b"),
                    ("demo", "validation", "lexical:v1"), ("demo", "validation", "other-judge:v2")]
    other = _board(document, "demo", "other-judge:v2")
    # The judge-free VQA result joins both demo boards; GREEN rows stay with their judge.
    assert [row["model"] for row in other["rows"]] == ["demo-c", "demo-a"]
    assert "green" not in other["rows"][1]["metrics"]
    assert "global_accuracy" in other["rows"][1]["metrics"]
    flare = _board(document, "FLARE-Task5-MLLM-3D", "StanfordAIMI/GREEN-radllama2-7b")
    assert {row["model"] for row in flare["rows"]} == {"med3dvlm-readme", "flare25-phi3-baseline"}


def test_reported_med3dvlm_figures_are_shown_exactly(results: Path) -> None:
    document = document_of(results)
    readme = markdown(document)
    page = html(document)
    for figure in ("0.418448", "0.235759", "0.417964"):
        assert f"| {figure}" in readme
        assert f">{figure}<" in page
    section = readme.split("README averaging")[1].split("###")[0]
    table = {cells[0]: cells[1] for line in section.splitlines()[4:] if (cells := line.strip("| ").split(" | "))
             and len(cells) == 2}
    assert {organ: figure.strip() for organ, figure in ((o.strip(), f) for o, f in table.items())} == MED3DVLM_ORGANS
    heatmap = page.split('id="organs_all_cases-')[1].split("</table>")[0]
    for organ, figure in MED3DVLM_ORGANS.items():
        assert f'<tr data-organ="{organ}"><td data-sort="{organ}">{organ}</td><td class="num" data-sort="{figure}"' in (
            heatmap)
    row = next(r for b in document["boards"] for r in b["rows"] if r["model"] == "med3dvlm-readme")
    assert {k: str(v) for k, v in row["organs_all_cases"].items()} == MED3DVLM_ORGANS
    assert row["organs"] == {}
    assert "citation" in json.dumps(row["results"]["flare_report"])
    phi3 = next(r for b in document["boards"] for r in b["rows"] if r["model"] == "flare25-phi3-baseline")
    assert "green" not in phi3["metrics"] and phi3["metrics"]["local_accuracy"]["value"] == 0.5691
    assert "copy error" in readme


def test_csv_holds_the_same_figures(results: Path) -> None:
    lines = csv_text(document_of(results)).splitlines()
    assert lines[0].startswith("board,data,split,judge,model")
    assert any(",med3dvlm-readme," in line and ",organs_all_cases,liver,0.238982," in line for line in lines)
    assert any(",demo-a," in line and ",flare_vqa,global_accuracy,," in line for line in lines)


@pytest.mark.slow
def test_check_passes_after_build_and_fails_when_stale(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(results, out)
    assert check(results, out) == []
    (out / "README.md").write_text("edited by hand\n")
    (out / "plots" / "old-board-organs.png").write_bytes(b"png")
    problems = check(results, out)
    assert len(problems) == 2
    assert "README.md: differs from a fresh build" in problems[0]
    assert "old-board-organs.png: no board makes this plot" in problems[1]
    build(results, out)
    assert check(results, out) == []
    assert not (out / "plots" / "old-board-organs.png").exists()


def test_check_fails_on_a_tampered_result(results: Path, tmp_path: Path) -> None:
    path = results / "demo-a" / "flare_report.json"
    data = json.loads(path.read_text())
    data["scores"]["green"] = 1.7
    path.write_text(json.dumps(data))
    (problem,) = check(results, tmp_path / "out")
    assert "demo-a/flare_report.json: invalid result file at $.scores.green" in problem
    with pytest.raises(HarnessError, match="1 problem"):
        build(results, tmp_path / "out")


def test_check_fails_on_a_duplicate_and_a_misplaced_file(results: Path, tmp_path: Path) -> None:
    duplicate = measured_report("Demo-A", 0.0)
    write(results, duplicate)
    problems = check(results, tmp_path / "out")
    assert len(problems) == 1 and "duplicate of" in problems[0]
    shutil.rmtree(results / "Demo-A")
    misplaced = results / "demo-b" / "copy.json"
    misplaced.write_text((results / "demo-b" / "flare_report.json").read_text())
    (problem,) = check(results, tmp_path / "out")
    assert "copy.json: model 'demo-b' and task 'flare_report' belong in" in problem


@pytest.mark.slow
def test_cli_add_build_check(results: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "result.json").write_text(json.dumps(measured_report("demo-new", 0.1)))
    out = tmp_path / "out"
    args = ["--results", str(results)]
    assert runner.invoke(cli, ["leaderboard", "add", str(run_dir), *args]).exit_code == 0
    assert json.loads((results / "demo-new" / "flare_report.json").read_text())["model"]["name"] == "demo-new"
    again = runner.invoke(cli, ["leaderboard", "add", str(run_dir), *args])
    assert again.exit_code != 0 and "pass --force" in str(again.exception)
    assert runner.invoke(cli, ["leaderboard", "add", str(run_dir), *args, "--force"]).exit_code == 0
    stale = runner.invoke(cli, ["leaderboard", "check", *args, "--out", str(out)])
    assert stale.exit_code == 1 and "missing" in stale.output
    assert runner.invoke(cli, ["leaderboard", "build", *args, "--out", str(out)]).exit_code == 0
    ok = runner.invoke(cli, ["leaderboard", "check", *args, "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "demo-new" in (out / "README.md").read_text()


def test_cli_add_rejects_an_invalid_run(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps({"schema_version": 1}))
    outcome = CliRunner().invoke(cli, ["leaderboard", "add", str(tmp_path), "--results", str(tmp_path / "r")])
    assert isinstance(outcome.exception, HarnessError)
    assert "result.json: invalid result file at $" in str(outcome.exception)


def test_committed_leaderboard_is_up_to_date() -> None:
    assert check(RESULTS, REPO / "leaderboard") == []


def test_bootstrap_is_deterministic_and_weighted() -> None:
    values = [0.0, 1.0] * 20
    assert bootstrap_ci(values) == bootstrap_ci(values)
    low, high = bootstrap_ci(values)
    assert low < 0.5 < high
    low_w, high_w = bootstrap_ci(values, [1.0, 3.0] * 20)
    assert low_w < 0.75 < high_w and low_w > low
    assert bootstrap_ci([0.3]) is None
    same = {f"c{i}": (v, 1.0) for i, v in enumerate(values)}
    comparison = paired_bootstrap(same, same)
    assert comparison.diff == 0 and not comparison.significant
