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
