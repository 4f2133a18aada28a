"""Per-organ GREEN aggregation, reproduced with the fixtures' stand-in judge registered as a plugin."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness import hookimpl, plugins
from harness.scoring.green import format_completion, split_prompt
from harness.scoring.judging import GreenScorer
from harness_plugins.tasks.flare.files import read_report_csv
from harness_plugins.tasks.flare.report import parse_organs, score_reports

FIXTURES = Path(__file__).parent / "fixtures" / "scoring" / "flare_report"


class StandInJudge:
    """The deterministic judge of tests/fixtures/scoring (../shared/fixtures/README.md): counts from sha256."""

    id = "stand-in-sha256"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def complete(self, prompts: list[str]) -> list[str]:
        self.calls.append(list(prompts))
        out = []
        for prompt in prompts:
            reference, candidate = split_prompt(prompt)
            h = int(hashlib.sha256((reference + "\0" + candidate).encode("utf-8")).hexdigest(), 16)
            significant = [["error"] * (((h >> (3 * i + 8)) % 7) // 4) for i in range(6)]
            out.append(format_completion(["finding"] * (h % 6), significant))
        return out


class StandInPlugin:
    @hookimpl
    def register_judges(self, register):
        register("stand-in", StandInJudge, description="sha256 stand-in judge (tests only)")


@pytest.fixture
def stand_in():
    with plugins.temporary_plugin(StandInPlugin(), name="stand-in-judge"):
        yield plugins.registry("judges").create("stand-in")


def test_fixture_reproduces_the_official_scores(stand_in):
    expected = json.loads((FIXTURES / "expected.json").read_text())
    scores = score_reports(read_report_csv(FIXTURES / "generated.csv"), GreenScorer(stand_in, progress=False))
    assert scores["task"] == "flare_report"
    assert scores["judge"] == "stand-in-sha256"
    assert scores["green"] == pytest.approx(expected["green"], abs=1e-9)
    assert set(scores["organs"]) == set(expected["organs"])
    for organ, value in expected["organs"].items():
        assert scores["organs"][organ] == pytest.approx(value, abs=1e-9), organ
    for organ, value in expected["organs_all_cases"].items():
        assert scores["organs_all_cases"][organ] == pytest.approx(value, abs=1e-9), organ
    assert scores["n_cases"] == len(scores["per_case"]) == 15
    assert scores["judge_calls_reference"] == expected["judge_calls_reference"]
    assert scores["judge_calls"] == {"prompts": 66, "distinct": expected["unique_prompts"], "cached": 0,
                                     "sent": expected["unique_prompts"]}


def test_all_prompts_go_to_the_judge_in_batches_once(stand_in):
    score_reports(read_report_csv(FIXTURES / "generated.csv"), GreenScorer(stand_in, batch_size=8, progress=False))
    sent = [p for batch in stand_in.calls for p in batch]
    assert len(sent) == len(set(sent)) == 64
    assert max(len(batch) for batch in stand_in.calls) == 8


class FixedJudge:
    """Matched findings = number of words in the candidate; no errors except when the candidate says 'normal'."""

    id = "fixed"

    def complete(self, prompts: list[str]) -> list[str]:
        out = []
        for prompt in prompts:
            _, candidate = split_prompt(prompt)
            errors = [["x"]] + [[]] * 5 if "normal" in candidate else [[]] * 6
            out.append(format_completion(["f"], errors))
        return out


def test_case_and_organ_aggregation_rules():
    items = [
        ("c1", "liver: a\nspleen: b", "Liver: a\nkidneys: c"),  # liver both, kidneys generated-only, spleen omitted
        ("c2", "liver: a", "liver: a"),
        ("c3", "", ""),  # no organs: case score 0
    ]
    scores = score_reports(items, GreenScorer(FixedJudge(), progress=False))
    c1 = scores["per_case"]["c1"]
    assert c1["organs"] == {"liver": 1.0, "kidneys": 0.5, "spleen": 0.0}
    assert c1["score"] == pytest.approx(1.5 / 3)
    assert scores["per_case"]["c3"] == {"score": 0.0, "organs": {}, "score_stateless": 0.0}
    assert scores["green"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    # official: over cases whose reference has the organ; generated-only organs are not listed
    assert scores["organs"] == {"liver": 1.0, "spleen": 0.0}
    # README style: every organ scored anywhere, averaged over all cases
    assert scores["organs_all_cases"] == pytest.approx({"liver": 2 / 3, "kidneys": 0.5 / 3, "spleen": 0.0})


def test_repeated_case_ids_keep_every_row():
    scores = score_reports([("a", "liver: x", "liver: x")] * 2, GreenScorer(FixedJudge(), progress=False))
    assert set(scores["per_case"]) == {"a", "a#2"}
    assert scores["n_cases"] == 2


def test_generated_only_organ_is_judged_against_normal_sentence():
    judge = StandInJudge()
    score_reports([("c", "liver: x", "liver: x\nspleen: enlarged")], GreenScorer(judge, progress=False))
    pairs = {split_prompt(p) for p in judge.calls[0]}
    assert pairs == {("x", "x"), ("enlarged", "spleen is normal.")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"Liver": "ok", "spleen": "big"}', {"Liver": "ok", "spleen": "big"}),
        ("Liver: ok\n\n  spleen – big  \nkidneys-cyst: left\nno separator\nliver: later",
         {"liver": "later", "spleen": "big", "kidneys": "cyst: left"}),
        ('{"kidneys": "x",\n"spleen": "y"', {'{"kidneys"': '"x",', '"spleen"': '"y"'}),
        ("[1, 2]", {}),
        ("", {}),
        ({"liver": ["a", "b"]}, {"liver": '["a", "b"]'}),
    ],
)
def test_parse_organs(text, expected):
    assert parse_organs(text) == expected


def test_report_csv_reader_keeps_pandas_empty_cells_as_empty_text(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('name,gt,generated\ncase1,"liver: a",\ncase2,None,"liver: b"\n')
    assert read_report_csv(path) == [("case1", "liver: a", ""), ("case2", "", "liver: b")]


def test_report_scores_with_stateless_and_skipped_keys_fit_the_result_schema(stand_in):
    jsonschema = pytest.importorskip("jsonschema")
    import harness

    schema = json.loads((Path(harness.__file__).parent / "schemas" / "result.schema.json").read_text())
    scores = score_reports(read_report_csv(FIXTURES / "generated.csv"), GreenScorer(stand_in, progress=False))
    assert scores["green_stateless"] == scores["green"] and scores["official_summary_crashes"] == 0
    jsonschema.validate(scores, {**schema["properties"]["scores"], "$defs": schema["$defs"]})


def test_report_csv_reader_keeps_numeric_cells_as_written(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,gt,generated\n1,7,0.50\n2,,3\n")
    assert read_report_csv(path) == [("1", "7", "0.50"), ("2", "", "3")]
