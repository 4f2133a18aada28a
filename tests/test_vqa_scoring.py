"""Official FLARE VQA accuracy (quirks included) and the strict variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.predictions import read_predictions
from harness.task import Prediction
from harness_plugins.tasks.flare.chains import scoring_chains
from harness_plugins.tasks.flare.files import read_records, read_vqa_csv
from harness_plugins.tasks.flare.records import Case, case_stem
from harness_plugins.tasks.flare.vqa import global_row_score, local_row_score, score_vqa

FIXTURES = Path(__file__).parent / "fixtures" / "scoring" / "flare_vqa"


def test_fixture_gives_the_official_accuracies():
    expected = json.loads((FIXTURES / "expected.json").read_text())
    scores = score_vqa(read_vqa_csv(FIXTURES / "predictions.csv"), read_records(FIXTURES / "ground_truth.json"))
    assert scores["task"] == "flare_vqa"
    assert round(scores["global_accuracy"], 6) == expected["global_accuracy"]
    assert round(scores["local_accuracy"], 6) == expected["local_accuracy"]
    assert scores["n_global"] == sum(v["n_global"] for v in scores["per_case"].values())
    assert scores["n_local"] == sum(v["n_local"] for v in scores["per_case"].values())
    weighted = sum(v.get("global_accuracy", 0) * v["n_global"] for v in scores["per_case"].values())
    assert weighted / scores["n_global"] == pytest.approx(scores["global_accuracy"])


def case(case_id="amos_1.nii.gz", answer=("a", "b"), local=()):
    return Case.from_json({
        "case_id": case_id,
        "global_vqa": [{"question": "Which?", "answer": list(answer)}],
        "local_vqa": [{"id": i, "follow_up": f, "question": "q", "answer": a} for i, f, a in local],
    })


def row(prediction, scope="global", question_id=None, case_id="amos_1.npy"):
    return {"case_id": case_id, "scope": scope, "question_id": question_id, "question": "q",
            "prediction": prediction}


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("A, b", ["a", "b"], 1.0),
        ("a, c", ["a", "b"], 0.5),
        ("a", ["a", "b"], 0.5),
        ("a, a", ["a"], 1.0),  # duplicated predictions each count
        ("a, a, c", ["a"], 2 / 3),
        (" ", [], 1.0),  # a single space is no prediction
        ("", [], 0.0),  # an empty cell reads back as NaN -> the label "nan"
        ("None", [], 0.0),
        (float("nan"), [], 0.0),
        (" , ,", [], 1.0),
        ("a", [], 0.0),
    ],
)
def test_global_row(prediction, answers, expected):
    assert global_row_score(prediction, answers) == pytest.approx(expected)


def test_strict_global_counts_a_repeated_label_once():
    assert global_row_score("a, a, c", ["a"], strict=True) == pytest.approx(0.5)
    assert global_row_score("a, a", ["a", "a"], strict=True) == 1.0


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [("yes|left|cyst", 1.0), ("Yes | LEFT", 2 / 3), ("no|left|cyst", 0.0), ("yes|cyst|left", 1 / 3),
     ("yes|left|cyst|extra", 1.0), ("", 0.0)],
)
def test_local_row(prediction, expected):
    assert local_row_score(prediction, ["Yes", "Left", "Cyst"]) == pytest.approx(expected)


def test_chains_follow_paths_to_the_root_in_id_order():
    c = case(local=[(5, 2, "x"), (2, -1, "Yes"), (3, 5, "y"), (1, -1, "No"), (4, 2, "z")])
    assert {root: [q.id for q in chain] for root, chain in scoring_chains(c).items()} == {2: [2, 3, 4, 5], 1: [1]}


def test_circular_follow_ups_are_a_clear_error():
    with pytest.raises(HarnessError, match="circular"):
        scoring_chains(case(local=[(1, 2, "a"), (2, 1, "b")]))


@pytest.mark.parametrize(("case_id", "stem"), [("a.nii.gz", "a"), ("dir/a.npy", "a"), ("a.nii", "a"),
                                               ("a.b.npy", "a.b"), ("a", "a")])
def test_case_ids_compare_without_extension(case_id, stem):
    assert case_stem(case_id) == stem


def test_only_rows_present_count_and_duplicates_count_twice():
    cases = [case(), case("amos_2.nii.gz", answer=["c"], local=[(1, -1, "Yes"), (2, 1, "left")])]
    rows = [row("a, b"), row("a"), row("Yes|left", "local", 1, "amos_2"), row("x", "local", 2, "amos_2")]
    scores = score_vqa(rows, cases)
    assert scores["global_accuracy"] == pytest.approx((1.0 + 0.5) / 2)  # amos_2 has no global row: not counted
    assert scores["n_global"] == 2
    assert scores["local_accuracy"] == 1.0  # question 2 is not a root: the row is skipped
    assert scores["n_local"] == 1
    # strict: amos_2's global question is unanswered (0); amos_1's first row counts once
    assert scores["global_accuracy_strict"] == pytest.approx((1.0 + 0.0) / 2)
    assert scores["local_accuracy_strict"] == 1.0
    assert scores["per_case"]["amos_1"] == {"global_accuracy": 0.75, "n_global": 2, "n_local": 0}


def test_strict_local_counts_missing_chains_as_zero():
    cases = [case(local=[(1, -1, "Yes"), (2, -1, "No")])]
    scores = score_vqa([row("Yes", "local", 1), row("Yes", "local", 1)], cases)
    assert scores["local_accuracy"] == 1.0 and scores["n_local"] == 2
    assert scores["local_accuracy_strict"] == 0.5 and scores["n_local_strict"] == 2


def test_unknown_case_is_a_clear_error():
    with pytest.raises(HarnessError, match="not in the ground truth"):
        score_vqa([row("a", case_id="other.npy")], [case()])


def test_local_row_needs_a_question_id():
    with pytest.raises(HarnessError, match="question_id"):
        score_vqa([row("Yes", "local", float("nan"))], [case(local=[(1, -1, "Yes")])])


def test_csv_and_jsonl_predictions_score_alike(tmp_path):
    cases = [case(answer=[], local=[(1, -1, "Yes")])]
    predictions = [Prediction("k1", "amos_1.nii.gz", "global", None, "q", ""),
                   Prediction("k2", "amos_1.nii.gz", "local", 1, "q", "Yes")]
    jsonl = tmp_path / "predictions.jsonl"
    jsonl.write_text("".join(json.dumps(p.to_json()) + "\n" for p in predictions))
    csv = tmp_path / "predictions.csv"
    csv.write_text('case_id,scope,question_id,question,prediction\namos_1.nii.gz,global,,q,\namos_1.nii.gz,local,1,q,Yes\n')
    from_jsonl = score_vqa([p.to_json() for p in read_predictions(jsonl)], cases)
    from_csv = score_vqa(read_vqa_csv(csv), cases)
    assert from_jsonl["global_accuracy"] == from_csv["global_accuracy"] == 0.0  # "" -> NaN -> "nan"
    assert from_jsonl["local_accuracy"] == from_csv["local_accuracy"] == 1.0


def test_vqa_csv_reader_names_missing_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("case_id,scope,prediction\na,global,x\n")
    with pytest.raises(HarnessError, match="question_id, question"):
        read_vqa_csv(path)


def test_cases_sharing_a_file_name_in_different_folders_are_not_merged():
    cases = [case("x/amos_0001.nii.gz", answer=("a",)), case("y/amos_0001.nii.gz", answer=("b",))]
    rows = [row("a", case_id="x/amos_0001.nii.gz"), row("b", case_id="y/amos_0001.npy")]
    scores = score_vqa(rows, cases)
    assert scores["global_accuracy"] == 1.0
    assert set(scores["per_case"]) == {"x/amos_0001", "y/amos_0001"}
    assert score_vqa([row("a", case_id="/data/x/amos_0001.nii.gz")], cases)["global_accuracy"] == 1.0


def test_a_row_naming_only_a_shared_file_name_is_refused_as_ambiguous():
    cases = [case("x/amos_0001.nii.gz"), case("y/amos_0001.nii.gz")]
    with pytest.raises(HarnessError, match="matches 2 ground-truth cases .*with its folder"):
        score_vqa([row("a", case_id="amos_0001.nii.gz")], cases)


def test_a_row_naming_only_the_file_matches_a_case_kept_in_a_folder():
    assert score_vqa([row("a, b", case_id="amos_1.npy")], [case("imgs/amos_1.nii.gz")])["global_accuracy"] == 1.0


@pytest.mark.parametrize("scope", ["Global", "LOCAL", "", None, float("nan")])
def test_unknown_scope_is_refused(scope):
    with pytest.raises(HarnessError, match="scope .*'global' or 'local'"):
        score_vqa([row("a, b"), row("a", scope=scope)], [case()])


def test_local_separator_comma_scores_old_submissions():
    cases = [case(local=[(1, -1, "Yes"), (2, 1, "Liver")])]
    old = [row("yes, liver", scope="local", question_id=1)]
    assert score_vqa(old, cases)["local_accuracy"] == 0.0  # '|' reads one answer "yes, liver"
    scores = score_vqa(old, cases, local_separator=",")
    assert scores["local_accuracy"] == 1.0 and scores["local_accuracy_strict"] == 1.0
    assert scores["local_separator"] == ","
    with pytest.raises(HarnessError, match="local separator ';'"):
        score_vqa(old, cases, local_separator=";")
