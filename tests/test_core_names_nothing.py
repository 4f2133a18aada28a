"""The core names no benchmark, model, judge model or data set: everything concrete lives in plugins.

The rule allows nothing, comments and docstrings included: a core example uses generic words (MODEL, TASK,
DATA) and a plugin's own docs hold the concrete ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONCRETE = re.compile(r"flare|med3dvlm|green-radllama|amos|ct-rate", re.IGNORECASE)
OWN = ("runner.py", "generation.py", "runoptions.py", "rundir.py", "predictions.py", "settings.py", "options.py",
       "plugins.py", "registry.py", "jsonl.py", "paths.py", "distributed.py", "taskdata.py", "testing.py",
       "cli/run.py", "cli/score.py", "cli/data.py", "cli/preprocess.py", "cli/inspect.py", "cli/main.py",
       "cli/options.py", "scoring/judging.py", "scoring/table.py", "scoring/green.py", "data/images.py",
       "data/resize.py", "data/hub.py")
"""The run loop and the generic commands: clean on their own already."""


def hits(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if CONCRETE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    return found


def core_files() -> list[Path]:
    return sorted(p for suffix in ("py", "json", "html") for p in (ROOT / "harness").rglob(f"*.{suffix}"))


def test_the_rule_catches_a_concrete_name():
    assert CONCRETE.search("harness run --model Med3DVLM-demo") and not CONCRETE.search("harness run --model MODEL")


def test_the_run_loop_and_the_generic_commands_name_nothing_concrete():
    assert hits([ROOT / "harness" / name for name in OWN]) == []


@pytest.mark.xfail(strict=False, reason="until all areas merge")
def test_the_core_names_no_benchmark_model_or_data_set():
    assert hits(core_files()) == []
