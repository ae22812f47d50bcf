"""Writing rendered frames as H.264 mp4 (PyAV/libx264), atomically and deterministically.

libx264 runs single-threaded with fixed settings, so the same frames give a byte-identical file
(and therefore identical decoded frames) on every run. A keyframe every second (``g = 30``) and
no B-frames keep seeking to any keyframe timestamp cheap for the data loaders.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import av
import numpy as np

from avaloc.fileio import atomic_path

CODEC_OPTIONS = {"preset": "veryfast", "crf": "17", "g": "30", "bf": "0", "threads": "1"}


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: int = 30) -> int:
    """Encode RGB uint8 frames (H, W, 3; even H and W) to an mp4 at ``path``; returns the count."""
    count = 0
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.options = dict(CODEC_OPTIONS)
        stream.codec_context.thread_count = 1
        for image in frames:
            if count == 0:
                stream.height, stream.width = image.shape[:2]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
            count += 1
        for packet in stream.encode():
            container.mux(packet)
    return count
