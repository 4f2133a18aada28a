"""No dependency that nothing imports: each runtime requirement in pyproject.toml is imported by `harness/` or
`plugins/`, or is named in `INDIRECT` with the library that needs it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
INDIRECT = {
    "accelerate": "transformers.Trainer requires it (harness finetune)",
    "gguf": "transformers reads the smollm2 plugin's GGUF file with it (gguf_file=)",
}


def _imported_modules() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "harness").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_runtime_dependency_is_imported_or_needed_by_one_that_is() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    distributions = {_normalise(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in declared}
    provided: dict[str, set[str]] = {}
    for module, dists in importlib.metadata.packages_distributions().items():
        for dist in dists:
            provided.setdefault(_normalise(dist), set()).add(module)
    imported = _imported_modules()
    unused = sorted(d for d in distributions if d not in INDIRECT and not provided.get(d, set()) & imported)
    assert unused == [], f"declared in pyproject.toml but never imported: {unused}"
    assert "datasets" not in distributions and "huggingface-hub" in distributions
