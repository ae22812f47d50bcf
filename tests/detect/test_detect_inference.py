"""Keyframe detection into AVA detection tables, formats round trip, label transfer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avaloc.detect import (
    FrameDetections,
    detect_keyframes,
    detect_video_frames,
    detections_to_rows,
    find_video,
    transfer_labels,
)
from avaloc.errors import InputError
from avaloc.formats import DETECTION_COLUMNS, read_detections, read_ground_truth, write_detections
from detect.people import people_frame


class OracleDetector:
    """Returns fixed pixel boxes for every frame, recording the frames it saw."""

    def __init__(self, boxes: np.ndarray, scores: np.ndarray) -> None:
        self.boxes, self.scores = boxes, scores
        self.seen: list[np.ndarray] = []

    def detect(self, frames):
        self.seen.extend(frames)
        return [FrameDetections(self.boxes.copy(), self.scores.copy()) for _ in frames]


def test_rows_are_normalized_clipped_and_degenerate_boxes_dropped() -> None:
    found = FrameDetections(
        np.array([[16.0, 12.0, 80.0, 120.0], [-10.0, 0.0, 200.0, 50.0], [50.0, 5.0, 50.05, 40.0]]),
        np.array([0.9, 0.5, 0.4]),
    )
    rows = detections_to_rows("v", [7], [found], width=160, height=120)
    assert list(rows.columns) == DETECTION_COLUMNS
    np.testing.assert_allclose(
        rows[["x1", "y1", "x2", "y2"]].to_numpy(), [[0.1, 0.1, 0.5, 1.0], [0.0, 0.0, 1.0, 50 / 120]]
    )
    assert rows["timestamp"].tolist() == [7, 7]
    assert rows["action_id"].tolist() == [-1, -1]


def test_keyframes_read_the_right_frames_and_round_trip(people_data, tmp_path: Path) -> None:
    video_dir, gt_csv, _ = people_data
    gt = read_ground_truth(gt_csv)
    detector = OracleDetector(np.array([[8.0, 6.0, 40.0, 60.0]]), np.array([0.75]))
    keyframes = sorted(set(zip(gt["video_id"], gt["timestamp"])))
    table = detect_keyframes(detector, keyframes, video_dir, progress=False)
    assert len(table) == len(keyframes)
    # The frame given for keyframe t of a 10 fps video is frame 10 t: compare with the generator.
    expected, _ = people_frame(30, 2, 160, 120)
    seen = detector.seen[keyframes.index(("clip_a", 3))]
    assert np.abs(seen.astype(int) - expected.astype(int)).mean() < 6
    out = tmp_path / "det.csv"
    write_detections(table, out)
    back = read_detections(out)
    assert back["action_id"].tolist() == [-1] * len(table)
    np.testing.assert_allclose(back[["x1", "y1", "x2", "y2"]], [[0.05, 0.05, 0.25, 0.5]] * 10)
    np.testing.assert_allclose(back["score"], 0.75)
    assert list(zip(back["video_id"], back["timestamp"])) == keyframes
    assert out.read_text().splitlines()[0] == "clip_a,0000,0.050,0.050,0.250,0.500,,0.750000"


def test_every_n_frames_uses_frame_indices(people_data) -> None:
    video_dir, _, _ = people_data
    detector = OracleDetector(np.zeros((0, 4)), np.zeros(0))
    detect_video_frames(detector, video_dir / "clip_b.mp4", every_n_frames=7, progress=False)
    assert len(detector.seen) == len(range(0, 40, 7))
    with pytest.raises(InputError, match="every_n_frames"):
        detect_video_frames(detector, video_dir / "clip_b.mp4", every_n_frames=0)


def test_missing_video_and_keyframe_outside_video(people_data) -> None:
    video_dir, _, _ = people_data
    detector = OracleDetector(np.zeros((0, 4)), np.zeros(0))
    with pytest.raises(InputError, match="no video for id 'nope'"):
        find_video(video_dir, "nope")
    with pytest.raises(InputError, match="outside the video's 40 frames"):
        detect_keyframes(detector, [("clip_b", 9)], video_dir, progress=False)


def test_transfer_labels_takes_the_best_overlapping_box() -> None:
    gt = pd.DataFrame(
        {
            "video_id": ["v"] * 3 + ["w"],
            "timestamp": [1, 1, 1, 1],
            "x1": [0.1, 0.1, 0.5, 0.1],
            "y1": [0.1, 0.1, 0.1, 0.1],
            "x2": [0.3, 0.3, 0.7, 0.3],
            "y2": [0.5, 0.5, 0.5, 0.5],
            "action_id": [3, 5, 7, 9],
            "person_id": [0, 0, 1, 4],
        }
    )
    detections = pd.DataFrame(
        {
            "video_id": ["v", "v", "v", "w"],
            "timestamp": [1, 1, 1, 2],
            # IoU 0.82 with person 0, none, 1.0 with person 1, a keyframe without GT.
            "x1": [0.12, 0.85, 0.5, 0.1],
            "y1": [0.1, 0.1, 0.1, 0.1],
            "x2": [0.32, 0.95, 0.7, 0.3],
            "y2": [0.5, 0.5, 0.5, 0.5],
            "action_id": [-1] * 4,
            "score": [0.9, 0.8, 0.7, 0.6],
        }
    )
    labeled, unmatched = transfer_labels(detections, gt, iou_threshold=0.5)
    assert labeled[["timestamp", "x1", "action_id", "person_id"]].values.tolist() == [
        [1, 0.12, 3, 0],
        [1, 0.12, 5, 0],
        [1, 0.5, 7, 1],
    ]
    # The box far right matches nothing; w@2 has no ground-truth keyframe at all.
    assert unmatched["x1"].tolist() == [0.85, 0.1]
    strict, _ = transfer_labels(detections, gt, iou_threshold=0.9)
    assert strict["action_id"].tolist() == [7]  # IoU(0.12-box, person 0) = 0.18/0.22 < 0.9
