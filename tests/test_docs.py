"""The docs a new user reads are true of this repository: every relative link resolves to a file in it, no doc
cites a file from outside it (the design notes the docs were written from), the Hub CLI is spelled `hf`, and a
plugin is shown how to depend on a harness that is not on PyPI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_relative_links_resolve_inside_the_repository(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an anchor on the page
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists() or ROOT not in path.parents:
            broken.append(target)
    assert broken == [], f"{doc.name} links to what the repository does not hold: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_no_outside_file_and_no_removed_cli(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert not re.search(r"\bDESIGN\b", text), f"{doc.name} cites DESIGN, which is not in the repository"
    assert "huggingface-cli" not in text, f"{doc.name}: huggingface-cli was removed; use `hf download`"


def test_plugins_doc_shows_how_to_depend_on_a_harness_not_on_pypi() -> None:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert "med3d-harness @ git+https://github.com/" in text and "med3d-harness @ file://" in text
