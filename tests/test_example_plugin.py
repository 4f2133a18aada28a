"""The example plugin as a real installed distribution: discovery through its entry point, a broken
package beside it, strict mode, `-p` and `-p no:`, the package's own tests and conformance suite, and
its non-FLARE task end to end: `harness run`, `harness score`, the leaderboard.

Both packages are pip-installed (non-editable) into this interpreter's environment and uninstalled
in a `finally`, so nothing here is a monkeypatch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "harness-plugin-example"
EXAMPLE_DIST = "harness-plugin-example"
BROKEN_DIST = "harness-plugin-broken-for-tests"
EXPECTED = {
    "encoders": "example-conv3d",
    "projectors": "example-pool",
    "tasks": "example_lesion_count",
    "judges": "example-overlap",
}

pytestmark = pytest.mark.slow


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "-q", "--disable-pip-version-check"], check=True,
                   capture_output=True, timeout=300)


def harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          env=environment, timeout=120)


def write_broken_package(root: Path) -> Path:
    """A distribution whose plugin module raises on import."""
    (root / "harness_broken_plugin").mkdir(parents=True)
    (root / "harness_broken_plugin" / "__init__.py").write_text("raise ImportError('this plugin is broken')\n")
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{BROKEN_DIST}"
        version = "0.0.1"

        [project.entry-points.harness]
        broken = "harness_broken_plugin"

        [tool.setuptools]
        packages = ["harness_broken_plugin"]
    """))
    return root


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Install the example (a copy, so the build leaves nothing in the repo) and the broken package."""
    tmp = tmp_path_factory.mktemp("plugins")
    example = tmp / "example"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    broken = write_broken_package(tmp / "broken")
    try:
        for path in (example, broken):
            pip("install", "--no-deps", "--no-build-isolation", str(path))
        yield tmp
    finally:
        pip("uninstall", "-y", EXAMPLE_DIST, BROKEN_DIST)


def test_example_components_appear_with_their_distribution(installed):
    result = harness("list", "--json")
    assert result.returncode == 0, result.stderr  # the broken package does not take listing down
    listing = json.loads(result.stdout)
    for kind, name in EXPECTED.items():
        (entry,) = [e for e in listing[kind] if e["name"] == name]
        assert entry["distribution"] == EXAMPLE_DIST and entry["version"] == "0.1.0"
        assert entry["plugin"] == "example"
    assert "warning: plugin 'broken' (harness-plugin-broken-for-tests 0.0.1) failed" in result.stderr


def test_broken_package_is_reported_by_plugins(installed):
    result = harness("plugins", "--json")
    assert result.returncode == 0
    infos = {i["name"]: i for i in json.loads(result.stdout)}
    assert infos["broken"]["distribution"] == BROKEN_DIST
    assert infos["broken"]["error"] == "ImportError: this plugin is broken"
    assert infos["example"]["error"] is None
    assert infos["example"]["hooks"] == [f"register_{k}" for k in sorted(EXPECTED)]


def test_strict_mode_fails_on_the_broken_package(installed):
    result = harness("list", env={"HARNESS_STRICT_PLUGINS": "1"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: plugin 'broken' (harness-plugin-broken-for-tests 0.0.1) failed")


def test_dash_p_no_blocks_installed_plugins(installed):
    result = harness("-p", "no:broken", "-p", f"no:{EXAMPLE_DIST}", "list", "--json")
    assert result.returncode == 0 and "warning" not in result.stderr
    listing = json.loads(result.stdout)
    assert not any(e.get("distribution") == EXAMPLE_DIST for entries in listing.values() for e in entries)


def test_dash_p_loads_a_module_by_import_path(installed, tmp_path):
    (tmp_path / "my_local_plugin.py").write_text(textwrap.dedent("""
        from harness import hookimpl

        @hookimpl
        def register_tasks(register):
            register("local-task", "harness_plugin_example.task:LesionCountTask")
    """))
    result = harness("-p", "my_local_plugin", "list", "tasks", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0
    (entry,) = [e for e in json.loads(result.stdout) if e["name"] == "local-task"]
    assert entry["plugin"] == "my_local_plugin" and entry["distribution"] is None


def _example_tests(installed: Path, *args: str) -> subprocess.CompletedProcess[str]:
    tests = installed / "example" / "tests"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tests), str(tests), *args],
        capture_output=True, text=True, timeout=300, cwd=tests,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_example_package_passes_its_own_tests(installed):
    """What docs/plugins.md tells a plugin author to run, from the installed package."""
    result = _example_tests(installed, "-k", "not TestHarnessConformance")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "26 passed" in result.stdout


def test_example_package_passes_the_conformance_suite(installed):
    result = _example_tests(installed, "-k", "TestHarnessConformance")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 passed" in result.stdout  # encoder, projector, judge, task: one each


def test_the_walkthrough_in_docs_plugins_md_runs(installed):
    """The doc's records -> scores walkthrough, against the installed example (a stand-in answer "two")."""
    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(# walkthrough.*?)```", text, re.S)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")})
    assert result.returncode == 0, result.stderr[-3000:]
    exact, mae, n = result.stdout.split()
    # the shipped answers are 3, 2, 1, 1, 1, 3: "two" matches one case and is one off in the other five
    assert (float(exact), float(mae), int(n)) == (pytest.approx(1 / 6), pytest.approx(5 / 6), 6)


# --- the example's own task, end to end ----------------------------------------------------------

TASK = "example_lesion_count"


@pytest.fixture(scope="module")
def example_run(installed, tmp_path_factory) -> tuple[Path, dict, Path]:
    """(run folder, result object, records file) of the demo model on the example's shipped data set."""
    out = tmp_path_factory.mktemp("example-run") / "run"
    result = harness("run", "--model", "med3dvlm-demo", "--task", TASK, "--set", "style=chat", "--out", str(out),
                     "--json", env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                    **{k: v for k, v in os.environ.items() if k == "HARNESS_CACHE"}})
    assert result.returncode == 0, result.stderr[-3000:]
    where = subprocess.run([sys.executable, "-c", "from harness_plugin_example.data import shipped_demo; "
                            "print(shipped_demo() / 'validation.jsonl')"], capture_output=True, text=True, check=True)
    return out, json.loads(result.stdout), Path(where.stdout.strip())


def test_example_task_runs_end_to_end_from_the_installed_distribution(example_run):
    out, result, records = example_run
    assert records.is_file() and "site-packages" in records.parts  # the installed copy, not the repository's
    assert result["task"] == {"name": TASK, "version": "1"}
    assert result["judge"] is None
    assert {k: result["data"][k] for k in ("name", "split", "n_cases", "partial")} == {
        "name": "example-demo", "split": "validation", "n_cases": 6, "partial": False}
    assert result["decoding"] == {"answer": {"strategy": "greedy", "do_sample": False, "max_new_tokens": 8}}
    assert result["provenance"]["plugins"][EXAMPLE_DIST] == "0.1.0"
    scores = result["scores"]
    assert scores["task"] == TASK and scores["n_cases"] == 6 and set(scores["per_case"]) == {
        f"lesions_{i:03d}" for i in range(6)}
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 6 and all(p["scope"] == "answer" and p["prediction"] in {"", *map(str, range(11))}
                                         for p in predictions)
    expected = sum(p["prediction"] == p["reference"] for p in predictions) / 6
    assert scores["exact_match"] == pytest.approx(expected)


def test_harness_score_gives_the_runs_scores(example_run):
    out, result, records = example_run
    scored = harness("score", TASK, "--predictions", str(out / "predictions.jsonl"), "--ground-truth", str(records),
                     "--json")
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert json.loads(scored.stdout) == result["scores"]


def test_leaderboard_shows_the_tasks_own_columns(example_run, tmp_path):
    out, result, _ = example_run
    results, board = tmp_path / "results", tmp_path / "board"
    added = harness("leaderboard", "add", str(out), "--results", str(results))
    assert added.returncode == 0, added.stderr[-3000:]
    assert (results / "med3dvlm-demo" / f"{TASK}.json").is_file()
    built = harness("leaderboard", "build", "--results", str(results), "--out", str(board))
    assert built.returncode == 0, built.stderr[-3000:]
    readme = (board / "README.md").read_text()
    assert "Exact match" in readme and "Count MAE" in readme
    assert f"{TASK} exact_match" not in readme  # the spec's label, not a key-derived one
