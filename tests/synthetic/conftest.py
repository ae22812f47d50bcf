"""Shared synthetic sets: the ``tiny`` preset rendered once per session, and ``default``
annotations without pixels (for the long-tail and co-occurrence statistics)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from avaloc.synthetic import generate_dataset


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_dataset(tmp_path_factory.mktemp("tiny") / "set", "tiny", seed=0, progress=False)


@pytest.fixture(scope="session")
def default_annotations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_dataset(
        tmp_path_factory.mktemp("default") / "set",
        "default",
        seed=0,
        render_videos=False,
        workers=1,
        progress=False,
    )


def decode_all(path: Path) -> np.ndarray:
    """Every frame of a video as (T, H, W, 3) uint8 RGB, decoded with PyAV."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
