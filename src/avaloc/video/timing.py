"""The one mapping from AVA timestamps to frame indices, and clip sampling around a keyframe.

AVA timestamps are whole seconds of movie time. A frame index counts frames from the first frame
of the source (a video file or a PySlowFast frame directory), whose time is ``start_second``:

    index = round((timestamp - start_second) * fps)

* video files: ``start_second = 0`` and ``fps`` is the container's rate (AVA movies are ~30 fps,
  the real test videos beside the repo are 10 fps: always read the rate from the container);
* PySlowFast frame directories hold the 15-minute AVA segment from second 900 at 30 fps, so
  ``start_second = 900`` and frame ``0`` is ``<video_id>_000001.jpg``.
"""

from __future__ import annotations

import math

import numpy as np

AVA_FPS = 30.0
FRAME_DIR_START_SECOND = 900.0


def keyframe_to_frame_index(timestamp: float, fps: float, *, start_second: float = 0.0) -> int:
    """Frame index of ``timestamp`` (seconds) in a source starting at ``start_second``.

    Rounds half up, so a timestamp exactly between two frames picks the later one.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return math.floor((float(timestamp) - float(start_second)) * float(fps) + 0.5)


def frame_index_to_time(index: int, fps: float, *, start_second: float = 0.0) -> float:
    """The inverse of :func:`keyframe_to_frame_index`: the time (seconds) of frame ``index``."""
    return float(start_second) + index / float(fps)


def clip_offsets(num_frames: int, sampling_rate: int) -> np.ndarray:
    """Offsets (in frames at the sampling rate's fps) of a clip centred on its keyframe.

    PySlowFast's convention: a window of ``num_frames * sampling_rate`` frames from
    ``-window // 2`` (inclusive) to ``+window // 2`` (exclusive), every ``sampling_rate``-th
    frame. 32x2 -> offsets -32, -30, ..., 30; the report's 40-frame window with fast stride 2
    -> ``num_frames=20, sampling_rate=2``: -20, -18, ..., 18.
    """
    if num_frames < 1 or sampling_rate < 1:
        raise ValueError(
            f"num_frames and sampling_rate must be >= 1, got {num_frames}, {sampling_rate}"
        )
    half = num_frames * sampling_rate // 2
    return np.arange(-half, -half + num_frames * sampling_rate, sampling_rate, dtype=np.int64)


def clip_frame_indices(
    center_index: int,
    num_frames: int,
    sampling_rate: int,
    *,
    fps: float,
    sampling_fps: float | None = AVA_FPS,
    shift: int = 0,
    total_frames: int | None = None,
) -> np.ndarray:
    """Frame indices of the clip around ``center_index`` in a source at ``fps``.

    The offsets are counted at ``sampling_fps`` (AVA's 30 by default, so a 32x2 clip always spans
    64/30 s whatever the source's rate; ``None`` = the source's own rate) and mapped to the
    source's frames. ``shift`` moves the whole window (temporal jitter, in ``sampling_fps``
    frames). With ``total_frames``, indices beyond the ends clamp to the edge frames.
    """
    offsets = clip_offsets(num_frames, sampling_rate) + int(shift)
    scale = 1.0 if sampling_fps is None else float(fps) / float(sampling_fps)
    indices = center_index + np.floor(offsets * scale + 0.5).astype(np.int64)
    if total_frames is not None:
        indices = np.clip(indices, 0, max(int(total_frames) - 1, 0))
    return indices
