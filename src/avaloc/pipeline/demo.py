"""The video demo: the whole pipeline over any video file.

Once a second (a keyframe), persons are detected, linked to the persons of earlier keyframes
(:class:`~avaloc.pipeline.tracking.IouTracker`), and the 2-second clip around the keyframe is
classified for every person by the action model(s). The result is an AVA prediction CSV, a CSV of
the tracked boxes, and a copy of the video with boxes, track ids and the top actions drawn on
every frame (each frame shows the annotations of its nearest keyframe).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from avaloc.data import DataConfig, build_test_transform, clip_around
from avaloc.detect import PersonDetector
from avaloc.engine.predict import ensemble_probabilities, normalized_weights
from avaloc.errors import InputError
from avaloc.fileio import atomic_write
from avaloc.formats import BOX_COLUMNS, DETECTION_COLUMNS, write_detections
from avaloc.pipeline.tracking import IouTracker
from avaloc.transforms.clip import pack_pathway
from avaloc.video import open_video, write_video


@dataclass(frozen=True)
class KeyframeResult:
    """Persons of one keyframe: pixel boxes, detector scores, track ids, class probabilities."""

    timestamp: int
    boxes: np.ndarray  # (K, 4) pixels of the source video
    scores: np.ndarray  # (K,)
    track_ids: np.ndarray  # (K,)
    probs: np.ndarray  # (K, C)


@dataclass(frozen=True)
class DemoSummary:
    keyframes: int
    persons: int
    tracks: int
    frames_written: int
    seconds: float

    def line(self) -> str:
        return (
            f"demo: {self.keyframes} keyframes, {self.persons} person boxes in {self.tracks} "
            f"tracks, {self.frames_written} frames written in {self.seconds:.1f} s"
        )


def classify_keyframe(
    models: Sequence[nn.Module],
    weights: Sequence[float],
    frames: np.ndarray,
    boxes: np.ndarray,
    data: DataConfig,
    scales: Sequence[int],
) -> np.ndarray:
    """Class probabilities (K, C) of ``boxes`` (pixels) in a clip (T, H, W, 3), averaged over the
    test scales and the models, as ``avaloc predict`` does for one keyframe."""
    views = []
    for scale in scales:
        result = build_test_transform(data, scale=scale, flip=False)(frames, boxes)
        if not bool(result.keep.all()):
            raise InputError(f"a person box vanished at test scale {scale}", key="scales")
        inputs = [pathway.unsqueeze(0) for pathway in pack_pathway(result.clip, data.alpha)]
        rois = torch.cat([torch.zeros(len(result.boxes), 1), result.boxes.float()], dim=1)
        views.append((inputs, rois))
    with torch.inference_mode():
        return ensemble_probabilities(models, weights, views).numpy()


def run_demo(
    video: str | os.PathLike,
    models: Sequence[nn.Module],
    data: DataConfig,
    detector: PersonDetector,
    class_names: dict[int, str],
    out_video: str | os.PathLike,
    out_csv: str | os.PathLike,
    *,
    class_ids: Sequence[int],
    model_weights: Sequence[float] | None = None,
    score_threshold: float = 0.85,
    scales: Sequence[int] | None = None,
    every_seconds: int = 1,
    top_k: int = 3,
    progress: bool = True,
) -> DemoSummary:
    """Detect, track and classify persons every ``every_seconds``; write the CSVs and the video.

    ``class_ids`` are the action ids of the models' output columns (label map order).
    """
    start = time.perf_counter()
    video = Path(video)
    reader = open_video(video)
    video_id = video.stem
    scales = list(scales) if scales else [data.test_scale]
    weights = normalized_weights(model_weights, len(models))
    duration = reader.num_frames / reader.fps
    timestamps = list(range(0, int(np.floor(duration)) + 1, every_seconds))
    timestamps = [t for t in timestamps if reader.frame_index(t) < reader.num_frames]
    tracker = IouTracker()
    results: list[KeyframeResult] = []
    for timestamp in tqdm(timestamps, desc="demo keyframes", unit="kf", disable=not progress):
        frame = reader.read_frames([reader.frame_index(timestamp)])[0]
        found = detector.detect([frame])[0]
        keep = found.scores >= score_threshold
        boxes, scores = found.boxes[keep], found.scores[keep]
        track_ids = tracker.update(boxes)
        if len(boxes):
            clip = clip_around(reader, timestamp, data, start_second=0.0)
            probs = classify_keyframe(models, weights, clip, boxes, data, scales)
        else:
            probs = np.zeros((0, len(class_ids)), dtype=np.float32)
        results.append(KeyframeResult(timestamp, boxes, scores, track_ids, probs))
    _write_csvs(results, video_id, reader.width, reader.height, class_ids, out_csv)
    written = _write_annotated_video(
        video, results, reader.fps, class_ids, class_names, top_k, out_video, progress
    )
    persons = sum(len(r.boxes) for r in results)
    tracks = len({int(t) for r in results for t in r.track_ids})
    return DemoSummary(len(results), persons, tracks, written, time.perf_counter() - start)


def _write_csvs(
    results: Sequence[KeyframeResult],
    video_id: str,
    width: int,
    height: int,
    class_ids: Sequence[int],
    out_csv: str | os.PathLike,
) -> None:
    scale = np.array([width, height, width, height], dtype=np.float64)
    rows, tracks = [], []
    for result in results:
        norm = np.clip(result.boxes / scale, 0.0, 1.0)
        for k in range(len(norm)):
            tracks.append(
                (
                    video_id,
                    result.timestamp,
                    *norm[k],
                    int(result.track_ids[k]),
                    float(result.scores[k]),
                )
            )
            for column, action_id in enumerate(class_ids):
                rows.append(
                    (
                        video_id,
                        result.timestamp,
                        *norm[k],
                        int(action_id),
                        float(result.probs[k, column]),
                    )
                )
    predictions = pd.DataFrame(rows, columns=DETECTION_COLUMNS)
    write_detections(predictions, out_csv, score_decimals=4)
    track_table = pd.DataFrame(
        tracks, columns=["video_id", "timestamp", *BOX_COLUMNS, "track_id", "detector_score"]
    )
    with atomic_write(Path(out_csv).with_suffix(".tracks.csv")) as handle:
        track_table.to_csv(handle, index=False, float_format="%.4f")


def _colour(track_id: int) -> tuple[int, int, int]:
    hue = (track_id * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2RGB)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_keyframe(
    frame: np.ndarray,
    result: KeyframeResult,
    class_ids: Sequence[int],
    class_names: dict[int, str],
    top_k: int,
) -> np.ndarray:
    """Boxes, track ids and the ``top_k`` actions with probabilities drawn on an RGB frame."""
    canvas = np.ascontiguousarray(frame.copy())
    font_scale = max(0.35, min(canvas.shape[:2]) / 900)
    line_height = int(22 * font_scale / 0.6)
    for k in range(len(result.boxes)):
        x1, y1, x2, y2 = (round(float(v)) for v in result.boxes[k])
        colour = _colour(int(result.track_ids[k]))
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        order = np.argsort(-result.probs[k], kind="stable")[:top_k]
        lines = [f"#{int(result.track_ids[k])}"] + [
            f"{class_names.get(int(class_ids[c]), str(class_ids[c]))[:18]} {result.probs[k, c]:.2f}"
            for c in order
        ]
        for n, text in enumerate(lines):
            y = max(y1 - 4 - (len(lines) - 1 - n) * line_height, line_height)
            cv2.putText(
                canvas,
                text,
                (x1 + 1, y + 1),
                cv2.FONT_HERSHEY_SIMPLEX,
                font_scale,
                (0, 0, 0),
                2,
                cv2.LINE_AA,
            )
            cv2.putText(
                canvas, text, (x1, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, 1, cv2.LINE_AA
            )
    return canvas


def _write_annotated_video(
    video: Path,
    results: Sequence[KeyframeResult],
    fps: float,
    class_ids: Sequence[int],
    class_names: dict[int, str],
    top_k: int,
    out_video: str | os.PathLike,
    progress: bool,
) -> int:
    times = np.array([r.timestamp for r in results], dtype=np.float64)

    def frames():
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            for index, frame in enumerate(
                tqdm(
                    container.decode(stream), desc="demo video", unit="frame", disable=not progress
                )
            ):
                image = frame.to_ndarray(format="rgb24")
                image = image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2]
                if len(times):
                    nearest = int(np.argmin(np.abs(times - index / fps)))
                    image = draw_keyframe(image, results[nearest], class_ids, class_names, top_k)
                yield image

    return write_video(out_video, frames(), fps=round(float(fps)))
