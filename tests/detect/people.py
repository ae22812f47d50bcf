"""Small generated videos of stick-and-blob "people" with exact person boxes, for detector tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd


def _figures(index: int, num: int, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (x1, y1, x2, y2) of the figures in frame ``index`` (a pure function)."""
    boxes = []
    for k in range(num):
        fig_h = int(height * (0.35 + 0.12 * ((k + index // 10) % 3)))
        fig_w = max(fig_h * 2 // 5, 6)
        span = max(width - fig_w - 2, 1)
        x = int((k * width / num + 3 * index) % span) + 1
        y = int((height - fig_h) * (0.2 + 0.25 * k % 0.6))
        boxes.append((x, y, x + fig_w, y + fig_h))
    return boxes


def _draw(frame: np.ndarray, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> None:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    head = max(w // 3, 2)
    cx = (x1 + x2) // 2
    cv2.circle(frame, (cx, y1 + head), head, colour, -1)
    cv2.rectangle(
        frame, (x1 + w // 6, y1 + 2 * head), (x2 - 1 - w // 6, y1 + int(0.62 * h)), colour, -1
    )
    cv2.line(frame, (cx, y1 + int(0.6 * h)), (x1 + 1, y2 - 1), colour, max(w // 5, 1))
    cv2.line(frame, (cx, y1 + int(0.6 * h)), (x2 - 2, y2 - 1), colour, max(w // 5, 1))


def people_frame(index: int, num: int, width: int, height: int) -> tuple[np.ndarray, list]:
    rng = np.random.default_rng(index)
    frame = (110 + 25 * rng.standard_normal((height, width, 1))).clip(0, 255)
    frame = np.repeat(frame, 3, axis=2).astype(np.uint8)
    boxes = _figures(index, num, width, height)
    for k, box in enumerate(boxes):
        _draw(frame, box, ((30 + 60 * k) % 200, 20, 200 - 40 * k))
    return frame, boxes


def write_people_video(
    folder: Path,
    video_id: str,
    *,
    seconds: int = 6,
    fps: int = 10,
    width: int = 160,
    height: int = 120,
    people: int = 2,
) -> pd.DataFrame:
    """Write ``folder/<video_id>.mp4`` and return ground-truth rows of its keyframes (1 per s)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    with av.open(str(folder / f"{video_id}.mp4"), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12", "preset": "ultrafast", "bf": "0"}
        stream.time_base = 1 / Fraction(fps)
        for index in range(seconds * fps):
            frame, boxes = people_frame(index, people, width, height)
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = index
            for packet in stream.encode(video_frame):
                container.mux(packet)
            if index % fps == 0:
                for person, (x1, y1, x2, y2) in enumerate(boxes):
                    rows.append(
                        (
                            video_id,
                            index // fps,
                            x1 / width,
                            y1 / height,
                            x2 / width,
                            y2 / height,
                            1 + person % 3,
                            person,
                        )
                    )
        for packet in stream.encode():
            container.mux(packet)
    return pd.DataFrame(
        rows, columns=["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"]
    )
