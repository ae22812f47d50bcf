"""Shared fixtures: where the real data beside the repo lives, and skips when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # no display on CI machines

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVALOC_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a pytest skip naming what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/README.md)")
    return path


@pytest.fixture
def ava_dir() -> Path:
    return shared_path("data", "ava")


@pytest.fixture
def video_dir() -> Path:
    return shared_path("data", "video")


@pytest.fixture
def specs_dir() -> Path:
    return shared_path("specs")
