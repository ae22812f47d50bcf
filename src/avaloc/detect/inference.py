"""Running a person detector over keyframes or video frames into AVA detection tables.

The output is a DataFrame in ``formats.DETECTION_COLUMNS`` (``video_id, timestamp, x1, y1, x2,
y2, action_id, score``; boxes normalized to [0, 1], ``action_id`` -1 = person box), ready for
:func:`avaloc.formats.write_detections`. :func:`transfer_labels` gives detector boxes the labels
of the ground-truth box they overlap, to train the action model on detector boxes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torchvision.ops import box_iou
from tqdm import tqdm

from avaloc.detect.detectors import FrameDetections, PersonDetector
from avaloc.errors import InputError
from avaloc.formats import (
    BOX_COLUMNS,
    DETECTION_COLUMNS,
    GT_COLUMNS,
    empty_ground_truth,
    group_instances,
)
from avaloc.video import open_video

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")
#: Boxes thinner than this (normalized) vanish when written with 3 decimals: they are dropped.
_MIN_NORM_SIDE = 1e-3


def find_video(video_dir: str | os.PathLike, video_id: str) -> Path:
    """``video_dir/<video_id>.<ext>`` for a known video extension; InputError if absent."""
    video_dir = Path(video_dir)
    for extension in VIDEO_EXTENSIONS:
        candidate = video_dir / f"{video_id}{extension}"
        if candidate.is_file():
            return candidate
    extensions = ",".join(e[1:] for e in VIDEO_EXTENSIONS)
    raise InputError(
        f"no video for id {video_id!r} (looked for {video_id}.{{{extensions}}})", path=video_dir
    )


def empty_detections() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "video_id": pd.Series([], dtype=object),
            "timestamp": pd.Series([], dtype=np.int64),
            **{c: pd.Series([], dtype=np.float64) for c in BOX_COLUMNS},
            "action_id": pd.Series([], dtype=np.int64),
            "score": pd.Series([], dtype=np.float64),
        }
    )


def detections_to_rows(
    video_id: str,
    timestamps: Sequence[int],
    detections: Sequence[FrameDetections],
    width: int,
    height: int,
) -> pd.DataFrame:
    """Pixel detections of frames of one video -> normalized detection rows."""
    parts = []
    scale = np.array([width, height, width, height], dtype=np.float64)
    for timestamp, found in zip(timestamps, detections):
        boxes = np.clip(found.boxes / scale, 0.0, 1.0)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= _MIN_NORM_SIDE) & (
            (boxes[:, 3] - boxes[:, 1]) >= _MIN_NORM_SIDE
        )
        boxes, scores = boxes[keep], found.scores[keep]
        parts.append(
            pd.DataFrame(
                {
                    "video_id": np.full(len(scores), video_id, dtype=object),
                    "timestamp": np.full(len(scores), int(timestamp), dtype=np.int64),
                    **{c: boxes[:, k] for k, c in enumerate(BOX_COLUMNS)},
                    "action_id": np.full(len(scores), -1, dtype=np.int64),
                    "score": scores,
                }
            )
        )
    if not parts:
        return empty_detections()
    return pd.concat(parts, ignore_index=True)[DETECTION_COLUMNS]


def _run_on_indices(
    detector: PersonDetector,
    video_path: Path,
    video_id: str,
    timestamps: list[int],
    indices: list[int],
    chunk: int,
    bar: tqdm,
) -> pd.DataFrame:
    reader = open_video(video_path)
    parts = []
    for start in range(0, len(indices), chunk):
        frames = reader.read_frames(indices[start : start + chunk])
        found = detector.detect(list(frames))
        parts.append(
            detections_to_rows(
                video_id, timestamps[start : start + chunk], found, reader.width, reader.height
            )
        )
        bar.update(len(frames))
    return pd.concat(parts, ignore_index=True) if parts else empty_detections()


def detect_keyframes(
    detector: PersonDetector,
    keyframes: Iterable[tuple[str, int]],
    video_dir: str | os.PathLike,
    *,
    chunk: int = 8,
    progress: bool = True,
) -> pd.DataFrame:
    """Detect persons at each ``(video_id, timestamp)`` keyframe of the videos in ``video_dir``.

    Timestamp ``t`` is the frame at ``t`` seconds (``avaloc.video``'s mapping with the container's
    frame rate). A keyframe outside its video is an InputError.
    """
    by_video: dict[str, list[int]] = {}
    for video_id, timestamp in sorted(set((str(v), int(t)) for v, t in keyframes)):
        by_video.setdefault(video_id, []).append(timestamp)
    total = sum(len(ts) for ts in by_video.values())
    parts = []
    with tqdm(total=total, desc="detect", unit="frame", disable=not progress) as bar:
        for video_id, timestamps in by_video.items():
            path = find_video(video_dir, video_id)
            reader = open_video(path)
            indices = [reader.frame_index(t) for t in timestamps]
            for timestamp, index in zip(timestamps, indices):
                if not 0 <= index < reader.num_frames:
                    raise InputError(
                        f"keyframe {video_id},{timestamp} is frame {index}, outside the video's "
                        f"{reader.num_frames} frames",
                        path=path,
                    )
            parts.append(_run_on_indices(detector, path, video_id, timestamps, indices, chunk, bar))
    return pd.concat(parts, ignore_index=True) if parts else empty_detections()


def detect_video_frames(
    detector: PersonDetector,
    video_path: str | os.PathLike,
    *,
    every_n_frames: int = 1,
    video_id: str | None = None,
    chunk: int = 8,
    progress: bool = True,
) -> pd.DataFrame:
    """Detect persons on every ``every_n_frames``-th frame (timestamp column = frame index)."""
    if every_n_frames < 1:
        raise InputError("every_n_frames must be >= 1", key="every_n_frames")
    path = Path(video_path)
    reader = open_video(path)
    indices = list(range(0, reader.num_frames, every_n_frames))
    with tqdm(total=len(indices), desc="detect", unit="frame", disable=not progress) as bar:
        return _run_on_indices(detector, path, video_id or path.stem, indices, indices, chunk, bar)


def transfer_labels(
    detections: pd.DataFrame, ground_truth: pd.DataFrame, *, iou_threshold: float = 0.5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each detection the labels of the ground-truth box it overlaps most (IoU >= threshold).

    Returns ``(labeled, unmatched)``: ``labeled`` holds ground-truth rows (``GT_COLUMNS``) with
    the detector's box, one per transferred (box, action), person id of the matched instance;
    ``unmatched`` holds the detections that overlap no ground-truth box (negatives: persons
    without any labelled action, PySlowFast's ``include_negative`` practice).
    """
    instances = group_instances(ground_truth)
    gt_slices = dict(instances.keyframe_slices())
    detections = detections.reset_index(drop=True)
    labeled_parts = []
    unmatched_mask = np.ones(len(detections), dtype=bool)
    keys = detections["video_id"].astype(str) + "\x00" + detections["timestamp"].astype(str)
    for _, rows in detections.groupby(keys, sort=True).groups.items():
        rows = np.asarray(rows)
        first = detections.iloc[rows[0]]
        key = (str(first["video_id"]), int(first["timestamp"]))
        if key not in gt_slices:
            continue
        span = gt_slices[key]
        det_boxes = torch.tensor(detections.loc[rows, BOX_COLUMNS].to_numpy(np.float64))
        gt_boxes = torch.as_tensor(instances.boxes[span])
        best_iou, best = box_iou(det_boxes, gt_boxes).max(dim=1)
        for det_row, iou, gt_local in zip(rows, best_iou.tolist(), best.tolist()):
            if iou < iou_threshold:
                continue
            unmatched_mask[det_row] = False
            gt_index = span.start + gt_local
            labels = instances.labels_of(gt_index)
            box = detections.loc[det_row, BOX_COLUMNS].to_numpy(np.float64)
            labeled_parts.append(
                pd.DataFrame(
                    {
                        "video_id": [key[0]] * len(labels),
                        "timestamp": np.full(len(labels), key[1], dtype=np.int64),
                        **{c: np.full(len(labels), box[k]) for k, c in enumerate(BOX_COLUMNS)},
                        "action_id": labels.astype(np.int64),
                        "person_id": np.full(
                            len(labels), instances.person_ids[gt_index], dtype=np.int64
                        ),
                    }
                )
            )
    if labeled_parts:
        labeled = pd.concat(labeled_parts, ignore_index=True)[GT_COLUMNS]
    else:
        labeled = empty_ground_truth()
    return labeled, detections.loc[unmatched_mask].reset_index(drop=True)
