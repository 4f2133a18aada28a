"""`harness.task.check_task`: what a task must state, refused in one line naming its plugin."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.task import LoadedData, MetricSpec, Task, check_task


class _Complete(Task):
    name, version, data_format = "complete", "1", "lines"
    metrics = (MetricSpec("accuracy", "Accuracy", primary=True),)
    decoding = {"answer": {"do_sample": False, "max_new_tokens": 4}}

    def load_data(self, data, *, split=None):
        return LoadedData([], {"name": str(data), "split": split})

    def requests(self, case, *, style, image_tokens, tokenizer):
        return []

    def parse(self, request, completion):
        return completion

    def score(self, predictions, cases, *, judge=None, cache_dir=None):
        return {"task": self.name, "accuracy": None}


def test_a_complete_task_passes_and_states_its_decoding():
    check_task(_Complete, plugin="p")
    check_task(_Complete(), plugin="p")
    assert _Complete().decoding_for("answer") == {"do_sample": False, "max_new_tokens": 4}
    with pytest.raises(HarnessError, match="declares no decoding for scope 'other'; it declares: answer"):
        _Complete().decoding_for("other")


def test_a_missing_member_is_one_line_naming_task_plugin_and_fix():
    class NoMetrics(_Complete):
        metrics = ()

    with pytest.raises(HarnessError, match=r"^task 'complete' from plugin 'mine' does not follow the task contract: "
                                           r"it lacks 'metrics' as a non-empty tuple.*subclass harness\.task\.Task"):
        check_task(NoMetrics, plugin="mine")

    class Partial:
        name = "partial"

    with pytest.raises(HarnessError, match="attribute 'version'.*method 'parse'"):
        check_task(Partial, plugin="mine")


def test_score_must_take_the_judge_and_its_cache_as_the_run_loop_passes_them():
    class NoCache(_Complete):
        def score(self, predictions, cases, *, judge=None):
            return {}

    class Keywords(_Complete):
        def score(self, predictions, cases, **options):
            return {}

    with pytest.raises(HarnessError, match=r"lacks the keyword parameter\(s\) cache_dir on score"):
        check_task(NoCache, plugin="mine")
    check_task(Keywords, plugin="mine")
