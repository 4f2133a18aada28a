"""The result-file JSON Schema and `harness.results.validate_result`."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.results import load_schema, read_result, validate_result

REPO = Path(__file__).resolve().parent.parent
COMMITTED = sorted((REPO / "leaderboard" / "results").glob("*/*.json"))

PROVENANCE = {
    "harness_version": "0.1.0",
    "git": {"commit": "2e2d5a4", "dirty": False},
    "plugins": {"med3d-harness": "0.1.0"},
    "torch": "2.13.0",
    "transformers": "5.24.0",
    "device": "cpu",
    "dtype": "float32",
    "batch_size": 4,
    "seed": 0,
    "date": "2025-07-01T12:00:00+00:00",
    "wall_time_s": 12.5,
}


def measured_report() -> dict:
    return {
        "schema_version": 1,
        "model": {"name": "demo", "encoder": "dcformer", "projector": "mixer", "llm": "tiny-qwen",
                  "weights": "runs/demo", "sha256": "0" * 64},
        "task": {"name": "flare_report", "version": 1},
        "data": {"name": "demo", "split": "validation", "sha256": "a" * 64, "n_cases": 2},
        "judge": "lexical:v1",
        "scores": {"task": "flare_report", "green": 0.5, "organs": {"liver": 0.5}, "organs_all_cases": {"liver": 0.5},
                   "n_cases": 2, "judge": "lexical:v1", "per_case": {"c1": 0.4, "c2": {"score": 0.6}}},
        "decoding": {"strategy": "greedy", "max_new_tokens": 512},
        "provenance": copy.deepcopy(PROVENANCE),
        "source": "measured",
    }


def error_of(data: dict) -> str:
    with pytest.raises(HarnessError) as info:
        validate_result(data, "x/flare_report.json")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("x/flare_report.json: ")
    return message


def test_schema_is_draft_2020_12_and_shipped_in_the_package() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["source"]["enum"] == ["measured", "reported"]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_results_are_valid(path: Path) -> None:
    data = read_result(path)
    if data["source"] == "reported":
        assert data["citation"]["url"].startswith("https://github.com/")
    else:  # measured rows come from real runs: per-case scores for intervals, and where they were made
        assert data["scores"]["per_case"] and data["provenance"]["git"]["commit"]


def test_a_measured_result_with_per_case_scores_is_valid() -> None:
    validate_result(measured_report())


@pytest.mark.parametrize(
    ("mutate", "json_path"),
    [
        (lambda d: d["scores"].__setitem__("green", "high"), "$.scores.green"),
        (lambda d: d["scores"].__setitem__("green", 1.5), "$.scores.green"),
        (lambda d: d["scores"].pop("organs"), "$.scores"),
        (lambda d: d.pop("provenance"), "$"),
        (lambda d: d["provenance"]["git"].pop("dirty"), "$.provenance.git"),
        (lambda d: d["model"].pop("sha256"), "$.model"),
        (lambda d: d["data"].__setitem__("sha256", "not-a-hash"), "$.data.sha256"),
        (lambda d: d["scores"]["per_case"].__setitem__("c3", "bad"), "$.scores.per_case.c3"),
        (lambda d: d.__setitem__("judge", None), "$.judge"),
        (lambda d: d.__setitem__("source", "rumoured"), "$.source"),
        (lambda d: d["model"].__setitem__("name", "../escape"), "$.model.name"),
        (lambda d: d["scores"].__setitem__("judge", "other:v2"), "$.scores.judge"),
        (lambda d: d["scores"].__setitem__("task", "flare_vqa"), "$.scores.task"),
    ],
)
def test_invalid_results_name_the_file_and_json_path(mutate, json_path: str) -> None:
    data = measured_report()
    mutate(data)
    message = error_of(data)
    assert f"at {json_path}:" in message


def test_measured_results_need_numbers_where_reported_ones_may_say_null() -> None:
    data = measured_report()
    data["scores"]["green"] = None
    assert "at $.scores.green:" in error_of(data)
    data["source"] = "reported"
    data["citation"] = {"url": "https://example.org/paper"}
    validate_result(data)


def test_reported_results_need_a_citation_url() -> None:
    data = measured_report()
    data["source"] = "reported"
    assert "'citation' is a required property" in error_of(data)
    data["citation"] = {"url": "example.org"}
    assert "at $.citation.url:" in error_of(data)


def test_vqa_scores_keys_are_checked() -> None:
    data = measured_report()
    data["task"]["name"] = "flare_vqa"
    data["judge"] = None
    data["scores"] = {"task": "flare_vqa", "global_accuracy": 0.2, "local_accuracy": 0.4, "n_global": 3}
    assert "'n_local' is a required property" in error_of(data)
    data["scores"]["n_local"] = 5
    validate_result(data)


def test_read_result_reports_broken_json_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("{not json")
    with pytest.raises(HarnessError, match=r"r\.json: not valid JSON \(line 1"):
        read_result(path)
    path.write_text(json.dumps([1]))
    with pytest.raises(HarnessError, match=r"expected a JSON object"):
        read_result(path)


def test_run_data_fields_are_typed() -> None:
    data = measured_report()
    data["data"].update({"case_ids_sha256": "b" * 64, "n_cases_available": 12, "partial": True})
    data["bad_cases"] = [["c3", "unreadable image"]]
    validate_result(data)
    for field, value, where in [("partial", "yes", "$.data.partial"), ("case_ids_sha256", "abc", "$.data.case_ids"),
                                ("n_cases_available", -1, "$.data.n_cases_available")]:
        broken = copy.deepcopy(data)
        broken["data"][field] = value
        assert where in error_of(broken)


def test_the_runner_validates_the_result_before_writing_it() -> None:
    from harness.runner import build_result

    class Task:
        name = "flare_vqa"
        version = "1"

    scores = {"task": "flare_vqa", "global_accuracy": 1.5, "local_accuracy": 0.5, "n_global": 2, "n_local": 2}
    data = {"name": "demo", "split": "validation", "sha256": "a" * 64, "case_ids_sha256": "b" * 64, "n_cases": 2,
            "n_cases_available": 2, "partial": False}
    with pytest.raises(HarnessError, match=r"\$\.scores\.global_accuracy"):
        build_result(model=measured_report()["model"], task=Task(), data=data, judge=None, scores=scores,
                     decoding={"global": {"strategy": "greedy"}}, bad_cases={}, provenance=copy.deepcopy(PROVENANCE))
