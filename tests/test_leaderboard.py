"""`harness leaderboard` build/check/add: boards, intervals, determinism, and the committed files."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli.main import cli
from harness.errors import HarnessError
from harness.leaderboard import build, check
from harness.leaderboard.boards import make_document
from harness.leaderboard.cases import case_views
from harness.leaderboard.collect import add_run, collect
from harness.leaderboard.page import html
from harness.leaderboard.stats import bootstrap_ci, paired_bootstrap
from harness.leaderboard.tables import csv_text, fmt, markdown

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


def test_reported_med3dvlm_figures_are_shown_to_four_digits_and_kept_exactly(results: Path) -> None:
    document = document_of(results)
    readme = markdown(document)
    page = html(document)
    csv_lines = csv_text(document).splitlines()
    for exact, shown in (("0.418448", "0.4184"), ("0.235759", "0.2358"), ("0.417964", "0.4180")):
        assert f"| {shown}" in readme and f"| {exact}" not in readme
        assert f'title="{exact}">{shown}<' in page
        assert any(f",{exact}," in line for line in csv_lines)
    section = readme.split("README averaging")[1].split("###")[0]
    table = {cells[0]: cells[1] for line in section.splitlines()[4:] if (cells := line.strip("| ").split(" | "))
             and len(cells) == 2}
    assert {o.strip(): f.strip() for o, f in table.items()} == {o: fmt(float(f)) for o, f in MED3DVLM_ORGANS.items()}
    assert fmt(0.0) == "0.000" and fmt(0.042941) == "0.04294" and fmt(0.25886) == "0.2589" and fmt(1.0) == "1.000"
    heatmap = page.split('id="organs_all_cases-')[1].split("</table>")[0]
    for organ, figure in MED3DVLM_ORGANS.items():
        assert (f'<tr data-part="{organ}"><td data-sort="{organ}">{organ}</td><td class="num" data-sort="{figure}" '
                f'title="{figure}"') in heatmap
    row = next(r for b in document["boards"] for r in b["rows"] if r["model"] == "med3dvlm-readme")
    assert {k: str(v) for k, v in row["breakdowns"]["organs_all_cases"].items()} == MED3DVLM_ORGANS
    assert "organs" not in row["breakdowns"]
    assert "citation" in json.dumps(row["results"]["flare_report"])
    phi3 = next(r for b in document["boards"] for r in b["rows"] if r["model"] == "flare25-phi3-baseline")
    assert "green" not in phi3["metrics"] and phi3["metrics"]["local_accuracy"]["value"] == 0.5691
    assert "copy error" in readme


def test_every_row_shows_its_cases_and_date(results: Path) -> None:
    write(results, measured_vqa("demo-b", n=30))
    document = document_of(results)
    board = _board(document, "demo", "lexical:v1")
    readme = markdown(document)
    overall = readme.split("## demo")[1].split("###")[0]
    assert "| cases (n)" in overall and "| date " in overall
    line_a = next(line for line in overall.splitlines() if "`demo-a`" in line)
    assert "| 40 " in line_a and "| 2025-07-01 " in line_a
    line_b = next(line for line in overall.splitlines() if "`demo-b`" in line)
    assert "flare_report 40, flare_vqa 30" in line_b
    organs = readme.split("## demo")[1].split("official FLARE averaging")[1].split("###")[0]
    assert "demo-b (n=40, 2025-07-01)" in organs
    page = html(document)
    table = page.split(f'id="overall-{board["id"]}"')[1].split("</table>")[0]
    assert '<td class="num cases" data-sort="40">40</td><td class="date">2025-07-01</td>' in table
    reported = page.split('id="overall-flare-task5')[1].split("</table>")[0]
    assert '<td class="num cases" data-sort="">–</td><td class="date">–</td>' in reported
    header = csv_text(document).splitlines()[0].split(",")
    line = next(r for r in csv.DictReader(io.StringIO(csv_text(document))) if r["model"] == "demo-b"
                and r["metric"] == "global_accuracy")
    assert "n_cases" in header and (line["n_cases"], line["date"], line["partial"]) == ("30", "2025-07-01", "no")


def test_a_partial_result_is_marked_everywhere(results: Path) -> None:
    partial = measured_report("demo-p", 0.1)
    partial["data"]["partial"] = True
    write(results, partial)
    document = document_of(results)
    row = next(r for r in _board(document, "demo", "lexical:v1")["rows"] if r["model"] == "demo-p")
    assert row["partial"] is True and row["results"]["flare_report"]["partial"] is True
    others = [r for r in _board(document, "demo", "lexical:v1")["rows"] if r["model"] != "demo-p"]
    assert not any(r["partial"] for r in others)
    readme = markdown(document)
    assert "`demo-p` **PARTIAL**" in readme and "demo-p (n=40, 2025-07-01, PARTIAL)" in readme
    page = html(document)
    assert '<tr data-model="demo-p" class="partial">' in page
    assert page.count('class="badge partial"') == 1
    lines = list(csv.DictReader(io.StringIO(csv_text(document))))
    assert {r["partial"] for r in lines if r["model"] == "demo-p"} == {"yes"}
    assert {r["partial"] for r in lines if r["model"] != "demo-p"} == {"no"}


def test_one_colour_per_model_on_every_board(results: Path) -> None:
    write(results, measured_report("demo-a", 0.1, judge="other-judge:v2", data="demo"))
    found, _ = collect(results)
    assert _ == []
    document = make_document(found)
    colours = document["colours"]
    assert set(colours) == {"demo-a", "demo-b", "med3dvlm-readme", "flare25-phi3-baseline"}
    assert len(set(colours.values())) == len(colours)
    page = html(document)
    for board in document["boards"]:
        for row in board["rows"]:
            section = page.split(f'id="overall-{board["id"]}"')[1].split("</table>")[0]
            model_cell = section.split(f'data-model="{row["model"]}"')[1].split("</td>")[1]
            assert f'background:{colours[row["model"]]}' in model_cell


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


def _prediction(case_id: str, scope: str = "report", index: int = 0, *, prediction: str = "liver: normal",
                reference: str | None = "liver: normal\nspleen: a cyst") -> dict:
    return {"key": f"{case_id}/{scope}/{index}", "case_id": case_id, "scope": scope,
            "question_id": None if scope != "local" else index, "question": "q", "prediction": prediction,
            "raw": prediction, "reference": reference}


def _run_dir(tmp_path: Path, result: dict, predictions: list[dict] | None) -> Path:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "result.json").write_text(json.dumps(result))
    if predictions is not None:
        (run / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))
    return run


def test_add_refuses_a_partial_run_unless_allowed(tmp_path: Path) -> None:
    result = measured_report("demo-p", 0.0, n=5)
    result["data"]["partial"] = True
    run = _run_dir(tmp_path, result, None)
    with pytest.raises(HarnessError, match="a partial run .*pass --allow-partial") as info:
        add_run(run, tmp_path / "results")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "results").exists()
    target = add_run(run, tmp_path / "results", allow_partial=True)
    assert json.loads(target.read_text())["data"]["partial"] is True


def test_add_copies_the_scored_predictions_sorted_and_check_reads_them(results: Path, tmp_path: Path) -> None:
    result = measured_report("demo-new", 0.1, n=3)
    rows = [_prediction("case002"), _prediction("case000"), _prediction("bad-case"), _prediction("case001"),
            _prediction("case000")]
    target = add_run(_run_dir(tmp_path, result, rows), results)
    predictions = results / "demo-new" / "flare_report.predictions.jsonl"
    assert target == results / "demo-new" / "flare_report.json" and predictions.is_file()
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [line["case_id"] for line in lines] == ["case000", "case001", "case002"]
    assert lines[0]["reference"] == "liver: normal\nspleen: a cyst"
    assert not list(results.rglob("*.tmp"))
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in (target, predictions)} == {0o666 & ~umask}  # not mkstemp's 0600
    out = tmp_path / "out"
    build(results, out)
    assert check(results, out) == []
    # Added again without predictions: the old texts would not match the new scores, so they go.
    (tmp_path / "run" / "predictions.jsonl").unlink()
    assert add_run(tmp_path / "run", results, force=True) == target
    assert not predictions.exists()


def test_add_leaves_the_old_file_whole_when_a_write_fails(tmp_path: Path, monkeypatch) -> None:
    results_dir = tmp_path / "results"
    first = measured_report("demo-a", 0.0, n=3)
    target = add_run(_run_dir(tmp_path, first, None), results_dir)
    before = target.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        add_run(_run_dir(tmp_path, measured_report("demo-a", 0.3, n=3), None), results_dir, force=True)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["flare_report.json"]


def test_check_rejects_stray_and_broken_predictions_files(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    orphan = results / "nobody" / "flare_report.predictions.jsonl"
    orphan.parent.mkdir()
    orphan.write_text(json.dumps(_prediction("case000")) + "\n")
    (problem,) = check(results, out)
    assert "nobody/flare_report.predictions.jsonl: no result file" in problem
    orphan.unlink()
    stray = results / "demo-a" / "flare_report.predictions.jsonl"
    stray.write_text(json.dumps(_prediction("case999")) + "\n")
    (problem,) = check(results, out)
    assert "predictions of 1 case(s) its result did not score (case999...)" in problem
    stray.write_text('{"key": "case000/report/0"\n')
    (problem,) = check(results, out)
    assert "flare_report.predictions.jsonl:1: not JSON" in problem
    with pytest.raises(HarnessError, match="1 problem"):
        build(results, out)


def test_report_case_view_joins_texts_with_the_official_organ_scores(results: Path) -> None:
    found, _ = collect(results)
    result = next(r for r in found if r.path == "demo-a/flare_report.json")
    result.data["scores"]["per_case"]["case000"] = {"score": 0.5, "organs": {"liver": 1.0, "spleen": 0.0,
                                                                           "stomach": 0.5}}
    row = _prediction("case000", prediction="liver: normal\nstomach: thick wall")
    (view,) = case_views(result, [row])
    assert (view.case_id, view.task, view.scores, view.parts) == ("case000", "flare_report", {"GREEN": 0.5}, "organ")
    items = {item.part: item for item in view.items}
    assert list(items) == ["liver", "spleen", "stomach"]
    assert (items["liver"].reference, items["liver"].prediction, items["liver"].grade) == ("normal", "normal",
                                                                                           "correct")
    assert items["spleen"].grade == "wrong" and "not in the generated text" in items["spleen"].note
    assert items["stomach"].reference is None and items["stomach"].absent == "not in the reference"
    assert items["stomach"].grade == "partly"


def test_vqa_question_grades_are_exact_or_marked_as_the_case_mean(results: Path) -> None:
    found, _ = collect(results)
    result = next(r for r in found if r.path == "demo-a/flare_vqa.json")
    per_case = result.data["scores"]["per_case"]
    per_case["case000"] = {"global_accuracy": 0.5, "n_global": 1, "local_accuracy": 0.5, "n_local": 2}
    per_case["case001"] = {"global_accuracy": 1.0, "n_global": 1, "local_accuracy": 0.0, "n_local": 2}
    rows = [_prediction("case000", "global"), _prediction("case000", "local", 1), _prediction("case000", "local", 2),
            _prediction("case001", "local", 1), _prediction("case001", "local", 2),
            _prediction("case999.nii.gz", "local", 1)]  # per_case has no "case999" (with or without extension)
    first, second = case_views(result, rows)
    grades = [(item.score, item.grade, item.note) for item in first.items]
    assert grades[0] == (0.5, "partly", None)  # the case's only global question: its score is the case's
    assert grades[1][:2] == (None, "partly") and "case mean 0.5 over 2 local rows" in grades[1][2]
    assert first.scores == {"VQA global": 0.5, "VQA local": 0.5} and second.case_id == "case001"
    assert [(item.score, item.grade) for item in second.items] == [(0.0, "wrong"), (0.0, "wrong")]


def test_zero_bars_are_drawn_unlike_missing_ones(results: Path) -> None:
    from harness.leaderboard.plots import MISSING_LABEL, _breakdowns_figure, _scores_figure

    document = document_of(results)
    board = _board(document, "FLARE-Task5-MLLM-3D", "StanfordAIMI/GREEN-radllama2-7b")
    organs = _breakdowns_figure(board, "t", document["colours"])
    dots = [line for ax in organs.axes for line in ax.lines if line.get_marker() == "o"]
    # breast tissue and diaphragm are 0 in both reported tables: one dot each, per panel.
    assert len(dots) == 4 and {line.get_xdata()[0] for line in dots} == {0.0}
    assert not [t for ax in organs.axes for t in ax.texts if t.get_text() == MISSING_LABEL]
    scores = _scores_figure(board, "t", document["colours"])
    missing = [t for t in scores.axes[0].texts if t.get_text() == MISSING_LABEL]
    assert len(missing) == 1  # the Phi-3 baseline gives no overall GREEN
    assert not [line for line in scores.axes[0].lines if line.get_marker() == "o"]


def test_provenance_is_readable_fields_with_links(results: Path, tmp_path: Path) -> None:
    add_run(_run_dir(tmp_path, measured_report("demo-new", 0.1, n=3), [_prediction("case000")]), results)
    found, _ = collect(results)
    from harness.leaderboard.cases import load_case_views

    views, problems = load_case_views(results, found)
    assert problems == []
    document = make_document(found, {"demo-new/flare_report.predictions.jsonl"})
    page = html(document, views, links="../results")
    details = page.split('data-model="demo-new"')[1].split("</details>")[0]
    assert '<a href="../results/demo-new/flare_report.json">results/demo-new/flare_report.json</a>' in details
    assert '<a href="../results/demo-new/flare_report.predictions.jsonl">' in details
    assert "<dt>git</dt><dd><code" in details and "(clean)" in details
    assert "<dd>med3d-harness 0.1.0</dd>" in details and "<dd>12.5 s</dd>" in details
    assert "<dd>strategy greedy</dd>" in details
    assert "{" not in details.split("<dl")[1]  # no raw JSON
    other = page.split('data-model="demo-a"')[1].split("</details>")[0]
    assert "<dt>predictions</dt><dd>not committed</dd>" in other


def test_browser_holds_each_case_with_its_items(results: Path, tmp_path: Path) -> None:
    rows = [_prediction("case000"), _prediction("case001", reference=None)]
    add_run(_run_dir(tmp_path, measured_report("demo-new", 0.1, n=3), rows), results)
    found, _ = collect(results)
    from harness.leaderboard.cases import load_case_views

    views, _ = load_case_views(results, found)
    page = html(make_document(found, {"demo-new/flare_report.predictions.jsonl"}), views)
    browser = page.split('<details class="browser" id="cases-demo-validation-lexical-v1">')[1].split("</details>\n")[0]
    assert "Per-case browser: 2 cases of 1 model(s)" in browser
    assert browser.count('<article class="case" data-model="demo-new" data-task="flare_report"') == 2
    assert '<label>Organ<select class="f-part">' in browser
    assert '<option value="liver">liver</option>' in browser
    assert '<td class="reference">normal</td><td class="generated">normal</td>' in browser
    assert '<span class="missing">not recorded</span>' in browser
    assert "the FLARE" not in browser and 'id="cases-flare' not in page  # no predictions, no browser


@pytest.mark.slow
def test_cli_check_json(results: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    stale = runner.invoke(cli, ["leaderboard", "check", "--results", str(results), "--out", str(tmp_path), "--json"])
    report = json.loads(stale.stdout)
    assert stale.exit_code == 1 and report["ok"] is False
    assert report["problems"] and all("missing; run `harness leaderboard build`" in p for p in report["problems"])
    ok = runner.invoke(cli, ["leaderboard", "check", "--json", "--results", str(RESULTS), "--out",
                             str(REPO / "leaderboard")])
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {"ok": True, "problems": []}


def test_add_ignores_a_torn_last_line_as_the_run_loop_does(tmp_path: Path) -> None:
    rows = "".join(json.dumps(_prediction(c)) + "\n" for c in ("case000", "case001")) + '{"key": "case002/rep'
    add_run(_run_dir(tmp_path, measured_report("demo-t", 0.1, n=3), None), tmp_path / "results")
    (tmp_path / "run" / "predictions.jsonl").write_text(rows)
    add_run(tmp_path / "run", tmp_path / "results", force=True)
    copied = (tmp_path / "results" / "demo-t" / "flare_report.predictions.jsonl").read_text().splitlines()
    assert [json.loads(line)["case_id"] for line in copied] == ["case000", "case001"]


def test_the_run_records_each_predictions_reference_for_the_browser(tmp_path: Path) -> None:
    from harness.generation import Generator
    from harness.predictions import PredictionStore
    from harness.recipe import Recipe
    from harness.task import Request

    class Task:
        name = "toy"

        def parse(self, request: Request, text: str) -> str:
            return text.strip()

    generator = Generator(None, None, Recipe(name="toy", encoder="e", projector="p", llm="l"), "cpu", "float32")
    generator._load_batch = lambda batch, bad_cases: (batch, [None] * len(batch))
    generator.generate = lambda requests, images: [f" answer {r.key}" for r in requests]
    requests = [Request(f"c{i}/global/0", f"c{i}", "global", None, "q", "prompt", target=f"truth {i}")
                for i in range(3)]
    store = PredictionStore(tmp_path / "predictions.jsonl")
    generator.generate_all(Task(), requests, store, batch_size=2, progress=False)
    reread = PredictionStore(tmp_path / "predictions.jsonl").items()
    assert [(p.prediction, p.reference) for p in reread] == [(f"answer c{i}/global/0", f"truth {i}") for i in range(3)]


def test_vqa_questions_in_numeric_order_and_a_repeated_row_is_not_exact(results: Path) -> None:
    found, _ = collect(results)
    result = next(r for r in found if r.path == "demo-a/flare_vqa.json")
    result.data["scores"]["per_case"]["case000"] = {"global_accuracy": 0.5, "n_global": 1, "n_local": 0}
    rows = [_prediction("case000", "local", 10), _prediction("case000", "local", 2), _prediction("case000", "global"),
            _prediction("case000", "global", 1)]
    for row in rows:
        row["question"] = row["key"]
    (view,) = case_views(result, rows)
    assert [item.label for item in view.items] == [
        "global · case000/global/0", "global · case000/global/1", "local · case000/local/2", "local · case000/local/10"]
    # Two global rows against n_global 1: the case's 0.5 is not known to be either row's own score.
    assert [(item.score, item.grade) for item in view.items[:2]] == [(None, "partly"), (None, "partly")]
    assert [item.grade for item in view.items[2:]] == [None, None]  # no local accuracy for the case: unscored
