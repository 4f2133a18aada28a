"""The generic commands find the task that owns the data through the registry and the task contract:
`harness data demo/check`, `harness preprocess`, `harness list datasets` and `harness score` with a task of a
format other than the built-in one (a plugin loaded with ``-p``)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from badinput import assert_one_line_error
from runfakes import cli

from harness import plugins
from harness.errors import HarnessError

ECHO_PLUGIN = '''
from pathlib import Path
from types import SimpleNamespace

from harness import hookimpl
from harness.task import DataSetCard, LoadedData, MetricSpec, Task


class EchoTask(Task):
    """One word per line of cases.txt; the answer is the word itself."""

    name, version, data_format = "htc_echo", "1", "echo-lines"
    metrics = (MetricSpec("accuracy", "Accuracy", primary=True),)
    decoding = {"answer": {"do_sample": False, "max_new_tokens": 4}}

    def load_data(self, data, *, split=None):
        words = (Path(data) / "cases.txt").read_text().split()
        cases = [SimpleNamespace(case_id=w, image=Path(data) / f"{w}.npy", domain="zero" if w.endswith("0") else None)
                 for w in words]
        return LoadedData(cases, {"name": str(data), "split": split or "all", "n_cases": len(cases)})

    def requests(self, case, *, style, image_tokens, tokenizer):
        return []

    def parse(self, request, completion):
        return completion.strip()

    def score(self, predictions, cases, *, judge=None, cache_dir=None):
        right = {c.case_id for c in cases}
        return {"task": self.name, "accuracy": sum(p.prediction == p.case_id for p in predictions if p.case_id
                                                   in right) / max(len(cases), 1)}

    def datasets(self):
        return (DataSetCard("echo-set", "Echo words", None, ("all",), "CC0", "https://example.org/echo"),)

    def write_demo(self, out, *, cases, seed, shout: bool = False):
        out.mkdir(parents=True, exist_ok=True)
        words = [f"w{seed}x{i}" for i in range(cases)]
        (out / "cases.txt").write_text(" ".join(w.upper() if shout else w for w in words))
        for word in words:
            (out / f"{word}.npy").write_bytes(b"")
        return out

    def preprocess(self, data, *, out, **options):
        out.mkdir(parents=True, exist_ok=True)
        (out / "options.json").write_text(__import__("json").dumps(sorted(options)))
        return [(out / "cases.txt", ["w9: skipped for the test"])]

    def score_file(self, path, *, ground_truth, make_judge, cache_dir, upper: bool = False):
        if path.suffix != ".txt":
            return None
        words = path.read_text().split()
        return {"task": self.name, "accuracy": float(all(w.isupper() == upper for w in words)), "n": len(words)}


@hookimpl
def register_tasks(register):
    register("htc_echo", EchoTask)
'''


@pytest.fixture
def echo(tmp_path: Path, monkeypatch) -> list[str]:
    """The global options that load the echo task plugin."""
    (tmp_path / "htc_echo.py").write_text(textwrap.dedent(ECHO_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    yield ["-p", "htc_echo"]
    plugins.configure()


def test_the_task_is_chosen_by_name_by_data_set_or_by_the_one_format(echo):
    from harness.taskdata import task_for_data

    plugins.configure(modules=["htc_echo"])
    assert task_for_data(task="htc_echo").name == "htc_echo"
    assert task_for_data(task=None, data="Echo_Set").name == "htc_echo", "names match as data set names do"
    assert task_for_data(task=None, data="demo").data_format == "flare", "the built-in tasks list 'demo'"
    with pytest.raises(HarnessError, match=r"read several record formats \(.*echo-lines: htc_echo\).*--task NAME"):
        task_for_data(task=None, data="/nowhere/at/all")
    plugins.configure()
    assert task_for_data(task=None, data="/nowhere/at/all").data_format == "flare", "one format: any of its tasks"


def test_data_demo_and_check_go_through_the_chosen_task(echo, capsys, tmp_path):
    out = tmp_path / "echo-demo"
    made = cli(capsys, *echo, "data", "demo", "--task", "htc_echo", "--out", str(out), "--cases", "3", "--seed", "4",
               "--demo-option", "shout=no")
    assert made.returncode == 0, made.stderr
    assert (out / "cases.txt").read_text().split() == ["w4x0", "w4x1", "w4x2"]
    checked = cli(capsys, *echo, "data", "check", str(out), "--task", "htc_echo")
    assert checked.returncode == 0, checked.stderr
    assert "3 cases (1 zero), 0 missing images" in checked.stdout
    report = cli(capsys, *echo, "data", "check", str(out), "--task", "htc_echo", "--json")
    assert json.loads(report.stdout)["task"] == "htc_echo"
    bad = cli(capsys, *echo, "data", "demo", "--task", "htc_echo", "--out", str(out), "--demo-option", "loud=1")
    assert_one_line_error(bad, "demo data of task 'htc_echo' has no option 'loud'", "shout")
    typed = cli(capsys, *echo, "data", "demo", "--task", "htc_echo", "--out", str(out), "--demo-option", "shout=maybe")
    assert_one_line_error(typed, "shout=maybe is not a boolean")


def test_preprocess_passes_the_format_options_through(echo, capsys, tmp_path):
    done = cli(capsys, *echo, "preprocess", "--task", "htc_echo", "--data", str(tmp_path), "--out", str(tmp_path / "p"),
               "--split", "all")
    assert done.returncode == 0, done.stderr
    assert "processed records: " in done.stdout and "skipped: w9: skipped for the test" in done.stderr
    passed = json.loads((tmp_path / "p" / "options.json").read_text())
    assert passed == ["float16", "on_bad_case", "progress", "size", "split", "workers"]


def test_list_datasets_shows_each_tasks_data_sets(echo, capsys):
    listed = cli(capsys, *echo, "list", "datasets", "--json")
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["echo-set"]["tasks"] == ["htc_echo"]
    assert {"flare_report", "flare_vqa"} <= set(rows["demo"]["tasks"])


def test_score_reads_a_tasks_own_file_with_typed_score_options(echo, capsys, tmp_path):
    words = tmp_path / "answers.txt"
    words.write_text("ALPHA BETA")
    base = [*echo, "score", "htc_echo", "--predictions", str(words), "--json"]
    assert json.loads(cli(capsys, *base).stdout) == {"task": "htc_echo", "accuracy": 0.0, "n": 2}
    assert json.loads(cli(capsys, *base, "--score-option", "upper=yes").stdout)["accuracy"] == 1.0
    assert_one_line_error(cli(capsys, *base, "--score-option", "upper=loud"), "upper=loud is not a boolean")
    assert_one_line_error(cli(capsys, *base, "--score-option", "lower=1"),
                          "--score-option: task 'htc_echo' has no option 'lower'", "upper")
    assert_one_line_error(cli(capsys, *base, "--score-option", "cache_dir=x"), "--score-option cache_dir",
                          "set by `harness score` itself")
    other = tmp_path / "answers.csv"
    other.write_text("a\n")
    assert_one_line_error(cli(capsys, *echo, "score", "htc_echo", "--predictions", str(other)),
                          str(other), "task 'htc_echo' reads only predictions.jsonl")


def test_score_reads_predictions_jsonl_with_the_core_reader(echo, capsys, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "cases.txt").write_text("a b")
    lines = [{"key": f"{w}/answer/0", "case_id": w, "scope": "answer", "question_id": None, "question": "q",
              "prediction": w} for w in ("a", "b")]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    scored = cli(capsys, *echo, "score", "htc_echo", "--predictions", str(predictions), "--ground-truth", str(data),
                 "--json")
    assert json.loads(scored.stdout) == {"task": "htc_echo", "accuracy": 1.0}
    assert_one_line_error(cli(capsys, *echo, "score", "htc_echo", "--predictions", str(predictions)),
                          "pass --ground-truth DATA")
    assert_one_line_error(cli(capsys, *echo, "score", "htc_echo", "--predictions", str(predictions),
                              "--ground-truth", str(data), "--score-option", "upper=1"),
                          "--score-option upper", "predictions.jsonl")
    predictions.write_text(predictions.read_text() + json.dumps(lines[0]) + "\n")
    assert_one_line_error(cli(capsys, *echo, "score", "htc_echo", "--predictions", str(predictions),
                              "--ground-truth", str(data)), "line 3 repeats the key 'a/answer/0' of line 1")


def test_listing_data_sets_survives_a_task_that_cannot_be_created(tmp_path, monkeypatch, capsys):
    (tmp_path / "htc_broken.py").write_text(textwrap.dedent('''
        from harness import hookimpl

        class Broken:
            name = "htc_broken"

        @hookimpl
        def register_tasks(register):
            register("htc_broken", Broken)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        listed = cli(capsys, "-p", "htc_broken", "list", "datasets", "--json")
        assert listed.returncode == 0, listed.stderr
        assert "demo" in {row["name"] for row in json.loads(listed.stdout)}
        assert_one_line_error(cli(capsys, "-p", "htc_broken", "data", "demo", "--task", "htc_broken", "--out",
                                  str(tmp_path / "d")), "htc_broken", "task contract")
    finally:
        plugins.configure()
