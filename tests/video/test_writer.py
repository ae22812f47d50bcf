"""write_video: H.264 round trip, byte-identical reruns, nothing left behind on failure."""

from __future__ import annotations

import numpy as np
import pytest

from avaloc.video import VideoReader, write_video


def _frames(count: int) -> list[np.ndarray]:
    """Flat colours that change every frame: H.264 at crf 17 keeps them within a few levels."""
    return [np.full((48, 64, 3), (20 * i % 250, 100, 200 - 10 * i), np.uint8) for i in range(count)]


def test_round_trip_count_size_rate_and_pixels(tmp_path):
    path = tmp_path / "clip.mp4"
    assert write_video(path, _frames(12), fps=30) == 12
    reader = VideoReader(path)
    assert (reader.width, reader.height, reader.fps) == (64, 48, 30)
    decoded = reader.read_frames(np.arange(12))
    assert decoded.shape == (12, 48, 64, 3)
    error = np.abs(decoded.astype(int) - np.stack(_frames(12)).astype(int))
    assert error.max() <= 6


def test_same_frames_give_the_same_bytes(tmp_path):
    write_video(tmp_path / "a.mp4", _frames(8))
    write_video(tmp_path / "b.mp4", _frames(8))
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_a_failing_frame_source_leaves_no_file(tmp_path):
    def broken():
        yield from _frames(3)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_video(tmp_path / "out.mp4", broken())
    assert list(tmp_path.iterdir()) == []
