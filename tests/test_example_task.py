"""The example plugin's non-FLARE task through the core's run-loop functions, from the source tree (fast; the
installed distribution end to end is tests/test_example_plugin.py, marked slow). A change to the task contract
or to the run loop that breaks a third-party task fails here first."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.runner import build_requests, score_with
from harness.task import Prediction, check_task
from harness.testing import example_tokenizer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "harness-plugin-example"


@pytest.fixture
def task(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from harness_plugin_example.task import LesionCountTask

    check_task(LesionCountTask, plugin="example")
    return LesionCountTask()


def test_records_to_scores_through_the_core(task):
    loaded = task.load_data("example-demo")
    requests = build_requests(task, loaded.cases, style="chat", image_tokens="<im_patch>" * 2,
                              tokenizer=example_tokenizer(), decoding={"max_new_tokens": 4})
    assert [r.decoding for r in requests] == [{"do_sample": False, "max_new_tokens": 4}] * 6
    answers = ["3", "two", "1 lesion", "none", "", "3"]  # references 3, 2, 1, 1, 1, 3
    predictions = [Prediction(r.key, r.case_id, r.scope, r.question_id, r.question, task.parse(r, text), text,
                              r.target) for r, text in zip(requests, answers, strict=True)]
    scores = score_with(task, predictions, loaded.cases, judge=None, cache_dir=Path("unused"))
    assert scores["exact_match"] == pytest.approx(4 / 6)
    assert scores["mae"] == pytest.approx(1 / 5)  # "none" is one off; "" names no number
    assert (scores["n_cases"], scores["n_parsed"]) == (6, 5)


def test_every_scores_key_the_metrics_declare_is_there(task):
    scores = task.score([], task.load_data("example-demo").cases)
    assert {spec.key for spec in task.metrics} | {spec.count_key for spec in task.metrics} <= set(scores)
    assert scores["task"] == task.name
    assert (scores["exact_match"], scores["mae"], scores["n_cases"]) == (None, None, 0)  # undefined, not 0
