"""The FLARE scorers and the task plugins accept the synthetic demo set: perfect answers score 1."""

from __future__ import annotations

import pytest

from harness import plugins
from harness.task import Prediction
from harness.testing import example_tokenizer
from harness_plugins.tasks.flare.chains import scoring_chains
from harness_plugins.tasks.flare.demo import generate_demo
from harness_plugins.tasks.flare.loading import load_cases


@pytest.fixture(scope="module")
def demo_cases(tmp_path_factory):
    root = generate_demo(tmp_path_factory.mktemp("demo"), cases=12, seed=5)
    return load_cases(root / "validation" / "val.json")


def _answers(task, cases):
    requests = [r for c in cases for r in task.requests(c, style="med3dvlm", image_tokens="<im_patch>",
                                                       tokenizer=example_tokenizer())]
    return [Prediction(r.key, r.case_id, r.scope, r.question_id, r.question, task.parse(r, r.target), r.target)
            for r in requests]


def test_perfect_vqa_answers_score_one(demo_cases):
    task = plugins.registry("tasks").create("flare_vqa")
    scores = task.score(_answers(task, demo_cases), demo_cases)
    assert scores["n_global"] == sum(len(c.global_vqa) for c in demo_cases)
    assert scores["n_local"] == sum(len(scoring_chains(c)) for c in demo_cases)
    assert scores["global_accuracy"] == 1.0 and scores["local_accuracy"] == 1.0


def test_perfect_reports_score_one_with_the_lexical_judge(demo_cases, tmp_path):
    task = plugins.registry("tasks").create("flare_report")
    judge = plugins.registry("judges").create("lexical")
    scores = task.score(_answers(task, demo_cases), demo_cases, judge=judge, cache_dir=tmp_path)
    assert scores["n_cases"] == len(demo_cases)
    assert scores["green"] == pytest.approx(1.0)
    assert set(scores["organs"]) == {organ for c in demo_cases for organ in c.findings}
