"""Shared test fixtures. The licensed data is read from ../shared/data (or $MICROEXP_SHARED_DATA);
tests that need it skip with a reason when it is absent. Every other fixture is generated here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MICROEXP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path inside the shared licensed data, or skip the test when it is not on this machine."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"licensed data not available: {path} is absent (set MICROEXP_SHARED_DATA)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()
