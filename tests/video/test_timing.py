"""Timestamp -> frame index and clip sampling, against hand-computed indices."""

from __future__ import annotations

import numpy as np
import pytest

from avaloc.video import (
    clip_frame_indices,
    clip_offsets,
    frame_index_to_time,
    keyframe_to_frame_index,
)


@pytest.mark.parametrize(
    ("timestamp", "fps", "start", "expected"),
    [
        (0, 30, 0, 0),
        (1, 30, 0, 30),
        (902, 30, 900, 60),  # PySlowFast frame dirs: second 902 is frame 60 after second 900
        (1798, 30, 900, 26940),
        (7, 10, 0, 70),  # the real videos are 10 fps
        (2, 29.97, 0, 60),  # 59.94 rounds to 60
        (1, 12.5, 0, 13),  # 12.5 rounds half up
    ],
)
def test_keyframe_to_frame_index_known_values(timestamp, fps, start, expected):
    assert keyframe_to_frame_index(timestamp, fps, start_second=start) == expected


def test_frame_index_to_time_inverts_the_mapping():
    for index in (0, 1, 59, 300):
        t = frame_index_to_time(index, 30.0, start_second=900)
        assert keyframe_to_frame_index(t, 30.0, start_second=900) == index


def test_keyframe_to_frame_index_rejects_bad_fps():
    with pytest.raises(ValueError):
        keyframe_to_frame_index(1, 0)


def test_clip_offsets_pyslowfast_32x2():
    offsets = clip_offsets(32, 2)
    assert offsets.tolist() == list(range(-32, 32, 2))


def test_clip_offsets_report_setting_40_frame_window():
    # 40-frame window, fast stride 2 -> 20 fast frames from -20 to 18
    assert clip_offsets(20, 2).tolist() == list(range(-20, 20, 2))
    # odd window: 5 frames stride 3 -> window 15, half 7
    assert clip_offsets(5, 3).tolist() == [-7, -4, -1, 2, 5]


def test_clip_frame_indices_at_30fps_is_center_plus_offsets():
    indices = clip_frame_indices(300, 8, 4, fps=30.0)
    assert indices.tolist() == [284, 288, 292, 296, 300, 304, 308, 312]


def test_clip_frame_indices_maps_30fps_offsets_to_a_10fps_source():
    # keyframe at 7 s of a 10 fps video = frame 70; offsets -6..+4 at 30 fps = -2..+1.33 frames
    indices = clip_frame_indices(70, 4, 3, fps=10.0)
    # offsets -6, -3, 0, 3 (at 30 fps) -> -2, -1, 0, 1 frames at 10 fps
    assert indices.tolist() == [68, 69, 70, 71]
    native = clip_frame_indices(70, 4, 3, fps=10.0, sampling_fps=None)
    assert native.tolist() == [64, 67, 70, 73]


def test_clip_frame_indices_clamps_to_edges_and_shifts():
    indices = clip_frame_indices(2, 4, 2, fps=30.0, total_frames=6)
    assert indices.tolist() == [0, 0, 2, 4]
    end = clip_frame_indices(5, 4, 2, fps=30.0, total_frames=6)
    assert end.tolist() == [1, 3, 5, 5]
    shifted = clip_frame_indices(10, 4, 2, fps=30.0, shift=3)
    assert np.array_equal(shifted, clip_frame_indices(13, 4, 2, fps=30.0))
