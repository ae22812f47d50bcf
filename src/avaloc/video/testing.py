"""Small generated videos whose frames say which frame they are (for tests and benchmarks).

Each frame carries its index in a row of black/white 16-px blocks along the top (robust to lossy
coding), over a background with a coloured rectangle that moves one pixel per frame. A decoded
frame can thus be checked to be exactly the frame that was asked for.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avaloc.fileio import atomic_path

BLOCK = 16
BITS = 12  # frame indices up to 4095


def numbered_frame(index: int, height: int, width: int) -> np.ndarray:
    """The (H, W, 3) uint8 RGB frame ``index`` of a numbered video."""
    if width < BITS * BLOCK or height < 3 * BLOCK:
        raise ValueError(f"frames must be at least {BITS * BLOCK}x{3 * BLOCK} pixels")
    frame = np.full((height, width, 3), 96, dtype=np.uint8)
    for bit in range(BITS):
        value = 255 if (index >> bit) & 1 else 0
        frame[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = value
    x = (index * 4) % max(width - 48, 1)
    y = 2 * BLOCK + (index % max(height - 2 * BLOCK - 32, 1))
    frame[y : y + 32, x : x + 48] = (220, 40, 40)
    return frame


def decode_frame_number(frame: np.ndarray) -> int:
    """Read the index written by :func:`numbered_frame` back from a (decoded) frame."""
    value = 0
    for bit in range(BITS):
        block = frame[2 : BLOCK - 2, bit * BLOCK + 2 : (bit + 1) * BLOCK - 2]
        if block.mean() > 127:
            value |= 1 << bit
    return value


def write_numbered_video(
    path: str | os.PathLike,
    num_frames: int,
    *,
    fps: int | Fraction = 30,
    width: int = 256,
    height: int = 192,
    codec: str = "libx264",
    gop: int = 12,
    time_base: Fraction | None = None,
    start_pts: int = 0,
) -> Path:
    """Write a numbered video (atomically); ``time_base``/``start_pts`` exercise odd streams."""
    path = Path(path)
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "ultrafast", "bf": "0"}
        tb = time_base if time_base is not None else 1 / Fraction(fps)
        stream.time_base = tb
        step = Fraction(1) / Fraction(fps) / tb
        for index in range(num_frames):
            frame = av.VideoFrame.from_ndarray(numbered_frame(index, height, width), format="rgb24")
            frame.pts = start_pts + round(index * step)
            frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
