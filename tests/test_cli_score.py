"""`harness score` on the reference scripts' CSV files and on the harness's predictions.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import plugins
from harness.cli.main import main
from harness.errors import HarnessError
from harness.scoring.judging import GreenScorer
from harness_plugins.tasks.flare.files import read_report_csv
from harness_plugins.tasks.flare.report import score_reports

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
VQA_CSV = str(FIXTURES / "flare_vqa" / "predictions.csv")
VQA_TRUTH = str(FIXTURES / "flare_vqa" / "ground_truth.json")
REPORT_CSV = str(FIXTURES / "flare_report" / "generated.csv")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))


def run_json(capsys, *args):
    assert main(["score", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_vqa_csv_json_output_is_the_scores_object(capsys):
    scores = run_json(capsys, "flare_vqa", "--predictions", VQA_CSV, "--ground-truth", VQA_TRUTH)
    expected = json.loads((FIXTURES / "flare_vqa" / "expected.json").read_text())
    assert round(scores["global_accuracy"], 6) == expected["global_accuracy"]
    assert round(scores["local_accuracy"], 6) == expected["local_accuracy"]
    assert {"task", "n_global", "n_local", "per_case"} <= set(scores)


def test_report_csv_with_lexical_judge_matches_the_library_and_caches(capsys, tmp_path):
    scores = run_json(capsys, "flare_report", "--predictions", REPORT_CSV, "--judge", "lexical")
    judge = plugins.registry("judges").create("lexical")
    direct = score_reports(read_report_csv(REPORT_CSV), GreenScorer(judge, progress=False))
    assert scores["green"] == pytest.approx(direct["green"])
    assert scores["organs"] == pytest.approx(direct["organs"])
    assert scores["judge"] == "lexical-v1 (not GREEN-calibrated)"
    assert scores["judge_calls"]["sent"] == 64
    again = run_json(capsys, "flare_report", "--predictions", REPORT_CSV, "--judge", "lexical")
    assert again["judge_calls"] == {"prompts": 66, "distinct": 64, "cached": 64, "sent": 0}
    assert again["green"] == scores["green"]


def test_table_output(capsys):
    assert main(["score", "flare_vqa", "--predictions", VQA_CSV, "--ground-truth", VQA_TRUTH]) == 0
    out = capsys.readouterr().out
    assert "global_accuracy" in out and "0.4000" in out


def test_report_table_shows_official_and_stateless_figures(capsys, tmp_path):
    args = ["score", "flare_report", "--predictions", REPORT_CSV, "--judge", "lexical", "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "green_stateless" in out and "GREEN per organ" in out and "organs_stateless" in out
    assert "judge: lexical-v1 (not GREEN-calibrated) (batching: default)" in out


def test_harness_predictions_jsonl_go_through_the_task(capsys, tmp_path):
    records = json.loads(Path(VQA_TRUTH).read_text())[:2]
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(records))
    lines = [{"key": f"{r['case_id']}/global/0", "case_id": r["case_id"], "scope": "global", "question_id": None,
              "question": "q", "prediction": ", ".join(r["global_vqa"][0]["answer"]) or " "} for r in records]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    scores = run_json(capsys, "flare_vqa", "--predictions", str(predictions), "--ground-truth", str(truth))
    assert scores["global_accuracy"] == 1.0 and scores["n_global"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flare_report", "--predictions", VQA_CSV], "scores as `harness score flare_vqa`"),
        (["flare_vqa", "--predictions", VQA_CSV], "need --ground-truth"),
        (["flare_vqa", "--predictions", "missing.csv"], "does not exist"),
        (["flare_vqa", "--predictions", VQA_CSV, "--ground-truth", REPORT_CSV], "malformed JSON"),
        (["flare_report", "--predictions", REPORT_CSV, "--judge", "lexcal"], "did you mean 'lexical'"),
        (["flare_report", "--predictions", REPORT_CSV, "--judge", "lexical", "--judge-option", "x=1"],
         "judge 'lexical' has no option 'x'"),
        (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf", "--judge-option", "trust_remote_code=maybe"],
         "trust_remote_code=maybe is not a boolean"),
        (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf", "--judge-option", "max_length=big"],
         "max_length='big' is not an integer"),
        (["flare_report", "--predictions", REPORT_CSV, "--judge", "hf", "--judge-option", "batching=fast"],
         "batching='fast'"),
        (["flare_report", "--predictions", REPORT_CSV, "--judge-option", "model"], "expects KEY=VALUE"),
        (["flare_rep", "--predictions", REPORT_CSV], "unknown task"),
    ],
)
def test_errors_are_one_line(capsys, args, message):
    assert main(["score", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and message in err


def test_missing_column_and_malformed_jsonl(capsys, tmp_path):
    bad_csv = tmp_path / "p.csv"
    bad_csv.write_text("name,gt\na,b\n")
    assert main(["score", "flare_report", "--predictions", str(bad_csv)]) == 2
    assert "report CSV needs name, gt, generated" in capsys.readouterr().err
    bad_jsonl = tmp_path / "p.jsonl"
    bad_jsonl.write_text('{"key": "x"\n')
    assert main(["score", "flare_vqa", "--predictions", str(bad_jsonl), "--ground-truth", VQA_TRUTH]) == 2
    assert "line 1 is not a prediction record" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "expected"), [("no", False), ("0", False), ("False", False), ("yes", True)])
def test_trust_remote_code_option_is_parsed_strictly_and_reaches_from_pretrained(monkeypatch, value, expected):
    transformers = pytest.importorskip("transformers")
    from harness import trust
    from harness.scoring.judging import create_judge

    monkeypatch.setattr(trust, "_allowed", expected)  # `harness --trust-remote-code` given when it is asked for

    seen: dict[str, object] = {}

    def refuse(name, **kwargs):
        seen.update(kwargs)
        raise OSError("offline")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", refuse)
    with pytest.raises(HarnessError, match="cannot load the GREEN judge model"):
        create_judge("hf", [f"trust_remote_code={value}", "model=some/model", "device=cpu"])
    assert seen["trust_remote_code"] is expected


def test_local_separator_option(capsys, tmp_path):
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps([{"case_id": "a.nii.gz", "local_vqa": [
        {"id": 1, "follow_up": -1, "question": "q", "answer": "Yes"},
        {"id": 2, "follow_up": 1, "question": "q", "answer": "Liver"}]}]))
    csv = tmp_path / "old.csv"
    csv.write_text("case_id,scope,question_id,question,prediction\na.nii.gz,local,1,q,\"Yes, liver\"\n")
    base = ["score", "flare_vqa", "--predictions", str(csv), "--ground-truth", str(truth), "--json"]
    assert main(base) == 0
    assert json.loads(capsys.readouterr().out)["local_accuracy"] == 0.0
    assert main([*base, "--score-option", "local_separator=,"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["local_accuracy"] == 1.0 and scores["local_separator"] == ","


def test_the_trust_remote_code_judge_option_alone_is_refused(capsys):
    assert main(["score", "flare_report", "--predictions", REPORT_CSV, "--judge", "hf",
                 "--judge-option", "trust_remote_code=yes"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and "--trust-remote-code" in err


def test_the_scores_table_titles_declared_breakdowns_by_their_labels_and_lists_the_others_by_key():
    from harness.scoring.table import format_scores
    from harness.task import MetricSpec

    class _Regions:
        metrics = (MetricSpec("regions", "Error per region", aggregate="breakdown", parts="region"),)

    text = format_scores({"task": "x", "mae": 0.5, "regions": {"left": 1.0, "right": 0.25},
                          "regions_strict": {"left": 0.5}, "per_case": {"c": {"left": 1.0}}}, task=_Regions())
    header = text.split("\n\n")[1].splitlines()[0].split()
    assert header == ["region", "Error", "per", "region", "regions_strict"]
    assert "right" in text and "per_case" not in text
