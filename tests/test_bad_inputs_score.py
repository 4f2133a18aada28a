"""Bad inputs and bad disks for `harness score` (issue 15): a folder where a file belongs, a full disk and a
read-only cache folder. Each is one `error:` line naming the path; what the judge cache holds stays valid
and a rerun after space is freed resumes from it, sending only the prompts not yet completed."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from badinput import assert_one_line_error, disk_full_after_fsyncs, run_cli, snapshot
from runfakes import cli

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
REPORT_CSV = FIXTURES / "flare_report" / "generated.csv"
VQA_CSV = FIXTURES / "flare_vqa" / "predictions.csv"
VQA_TRUTH = FIXTURES / "flare_vqa" / "ground_truth.json"
LEXICAL = ["score", "flare_report", "--predictions", str(REPORT_CSV), "--judge", "lexical", "--json"]


@pytest.mark.parametrize(("which", "names"), [
    ("--ground-truth", ["is a folder", "FLARE JSON file"]),
    ("--predictions", ["is a folder", "predictions.jsonl"]),
])
def test_a_folder_where_a_file_belongs_is_one_line(capsys, tmp_path, which, names):
    folder = tmp_path / "folder"
    folder.mkdir()
    args = {"--predictions": str(VQA_CSV), "--ground-truth": str(VQA_TRUTH), which: str(folder)}
    result = cli(capsys, "score", "flare_vqa", *[x for item in args.items() for x in item])
    assert_one_line_error(result, str(folder), *names)


def _prediction_line(prediction: str) -> bytes:
    truth = json.loads(VQA_TRUTH.read_text())[0]
    question = truth["global_vqa"][0]["question"]
    return json.dumps({"key": "k1", "case_id": truth["case_id"], "scope": "global", "question_id": None,
                       "question": question, "prediction": prediction}).encode() + b"\n"


BAD_PREDICTION_FILES = {
    # name: (bytes of a predictions.jsonl, words of the error line)
    "not UTF-8": (b"\xff\xfe{}\n", ["not UTF-8", "byte 0"]),
    "one question twice (joined files)": (_prediction_line("a") * 2, ["line 2", "'k1'", "line 1"]),
    "one question twice with two answers": (_prediction_line("a") + _prediction_line(""), ["line 2", "'k1'"]),
    "a line that is not a prediction": (_prediction_line("a") + b'{"key": "k2"}\n', ["line 2", "not a prediction"]),
}


@pytest.mark.parametrize("name", list(BAD_PREDICTION_FILES))
def test_a_bad_predictions_jsonl_is_one_line_naming_it(capsys, tmp_path, name):
    """Issue 16: a repeated key would score one question twice (global 0.5 for perfect answers): refused."""
    content, words = BAD_PREDICTION_FILES[name]
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(content)
    result = cli(capsys, "score", "flare_vqa", "--predictions", str(path), "--ground-truth", str(VQA_TRUTH))
    assert_one_line_error(result, str(path), *words)
    assert path.read_bytes() == content


def _cache_lines(cache: Path) -> list[bytes]:
    (path,) = cache.glob("*.jsonl")
    return path.read_bytes().splitlines(keepends=True)


def _figures(stdout: str) -> dict:
    """The scores without ``judge_calls`` (how many prompts the cache answered differs between runs)."""
    return {k: v for k, v in json.loads(stdout).items() if k != "judge_calls"}


def _clean_scores(tmp_path: Path) -> tuple[dict, int]:
    """The scores and the number of cached completions of an undisturbed run."""
    result = run_cli(*LEXICAL, "--cache-dir", str(tmp_path / "clean"))
    assert result.returncode == 0, result.stderr
    return _figures(result.stdout), len(_cache_lines(tmp_path / "clean"))


def test_a_full_disk_while_the_judge_cache_is_flushed_names_it_and_the_rerun_resumes(capsys, tmp_path, monkeypatch):
    """A write or fsync on a full disk raises OSError without a file name: the line must still name the cache."""
    scores, total = _clean_scores(tmp_path)
    cache = tmp_path / "cache"
    with disk_full_after_fsyncs(monkeypatch, 2):
        line = assert_one_line_error(cli(capsys, *LEXICAL, "--cache-dir", str(cache)), "No space left on device",
                                     "rerun")
    (path,) = cache.glob("*.jsonl")
    assert str(path) in line, line
    kept = _cache_lines(cache)
    assert kept and all(json.loads(raw)["completion"] for raw in kept)  # every line written is a whole entry

    sent: list[str] = []
    from harness_plugins.judges.lexical import LexicalJudge

    real_complete = LexicalJudge.complete
    monkeypatch.setattr(LexicalJudge, "complete", lambda self, prompts: sent.extend(prompts) or
                        real_complete(self, prompts))
    rerun = cli(capsys, *LEXICAL, "--cache-dir", str(cache))
    assert rerun.returncode == 0, rerun.stderr
    assert _figures(rerun.stdout) == scores
    assert json.loads(rerun.stdout)["judge_calls"]["cached"] == len(kept)
    lines = _cache_lines(cache)
    assert lines[:len(kept)] == kept and len(lines) == total
    assert len(sent) == total - len(kept), "the rerun sent completed prompts again"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[tuple[Path, callable]]:
    """A real 8 KiB tmpfs and a function ``remount(options)``; skipped where mounting is not permitted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(mount)],
                                                   capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")

    def remount(options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], check=True)

    try:
        yield mount, remount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_really_full_disk_keeps_the_cache_valid_and_the_rerun_finishes(tmp_path, tmpfs):
    mount, remount = tmpfs
    scores, total = _clean_scores(tmp_path)
    cache = mount / "cache"
    line = assert_one_line_error(run_cli(*LEXICAL, "--cache-dir", str(cache)), "No space left on device", "rerun")
    (path,) = cache.glob("*.jsonl")
    assert str(path) in line, line
    kept = [raw for raw in _cache_lines(cache) if raw.endswith(b"\n")]  # a torn last line is allowed
    assert kept and all(json.loads(raw)["completion"] for raw in kept)

    remount("size=1m")
    rerun = run_cli(*LEXICAL, "--cache-dir", str(cache))
    assert rerun.returncode == 0, rerun.stderr
    assert _figures(rerun.stdout) == scores
    lines = _cache_lines(cache)
    assert lines[:len(kept)] == kept and len(lines) == total
    assert len({json.loads(raw)["prompt_sha256"] for raw in lines}) == total


def test_a_read_only_cache_folder_is_one_line_and_a_complete_cache_there_still_scores(tmp_path, tmpfs):
    mount, remount = tmpfs
    remount("size=1m")
    scores, _ = _clean_scores(tmp_path)
    complete = mount / "complete"
    shutil.copytree(tmp_path / "clean", complete)
    remount("ro")
    fresh = mount / "fresh"
    assert_one_line_error(run_cli(*LEXICAL, "--cache-dir", str(fresh)), str(fresh), "Read-only file system",
                          "--cache-dir")
    before = snapshot(complete)
    result = run_cli(*LEXICAL, "--cache-dir", str(complete))  # nothing left to write: reading is enough
    assert result.returncode == 0, result.stderr
    assert _figures(result.stdout) == scores and snapshot(complete) == before


def _append_many(directory: str, judge_id: str, worker: int, count: int) -> None:
    from harness.scoring.judging import CompletionCache

    cache = CompletionCache(directory, judge_id)
    for i in range(count):
        cache.add([(f"w{worker}-p{i}", f"completion {worker}/{i} " + "x" * 200)])


def test_two_processes_appending_to_one_judge_cache_lose_and_splice_nothing(tmp_path):
    """Issue 16: the judge cache is locked per append, so two scorers at once leave whole lines, all of them."""
    import multiprocessing

    from harness.scoring.judging import CompletionCache

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), "judge-x", w, 60)) for w in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    cache = CompletionCache(tmp_path, "judge-x")
    assert len(cache) == 120
    assert all(cache.get(f"w{w}-p{i}") == f"completion {w}/{i} " + "x" * 200 for w in (1, 2) for i in range(60))
    assert len(cache.path.read_bytes().splitlines()) == 120


@pytest.mark.parametrize("where", ["--cache-dir", "HARNESS_CACHE"])
def test_a_cache_folder_that_is_a_file_is_one_line(capsys, tmp_path, monkeypatch, where):
    taken = tmp_path / "taken"
    taken.write_text("mine\n")
    args = list(LEXICAL)
    if where == "--cache-dir":
        args += ["--cache-dir", str(taken)]
    else:
        monkeypatch.setenv("HARNESS_CACHE", str(taken))
    assert_one_line_error(cli(capsys, *args), str(taken), "a file is in the way")
    assert taken.read_text() == "mine\n"
