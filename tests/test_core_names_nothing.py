"""The core names no benchmark, model, judge model or data set: everything concrete lives in plugins.

The rule allows nothing, comments and docstrings included: a core example uses generic words (MODEL, TASK,
DATA) and a plugin's own docs hold the concrete ones."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONCRETE = re.compile(r"flare|med3dvlm|green-radllama|amos|ct-rate", re.IGNORECASE)
PLUGIN_IMPORT = re.compile(r"^\s*(from|import)\s+harness_plugins\b")
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


def test_the_core_names_no_benchmark_model_or_data_set():
    assert hits(core_files()) == []


def test_the_core_imports_no_plugin_package():
    """The core reaches plugins only through the registries, as it reaches a third party's."""
    found = [f"{path.relative_to(ROOT)}:{number}" for path in (ROOT / "harness").rglob("*.py")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if PLUGIN_IMPORT.match(line)]
    assert found == []
