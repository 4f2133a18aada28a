"""Shared test helpers: paths to fixtures, and a small CPU thread budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach the Hugging Face Hub: fail fast offline instead of waiting on network timeouts.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture
def shared_fixtures() -> Path:
    """The large reference fixtures in ../shared/fixtures (skipped when that folder is absent)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"{SHARED_FIXTURES} is absent: the large reference fixtures live in ../shared")
    return SHARED_FIXTURES


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory) -> Path:
    """A small FLARE records file in the demo's format, for the run-loop tests that use fake models."""
    from runfakes import demo_records

    return demo_records(tmp_path_factory.mktemp("demo-records"))


@pytest.fixture
def fakes(monkeypatch):
    """The fake zoo models and generator of `runfakes` installed for one test."""
    from runfakes import install_fakes

    return install_fakes(monkeypatch)
