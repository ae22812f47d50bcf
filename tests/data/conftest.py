"""A miniature AVA dataset with numbered videos (each frame shows its index)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from avaloc.data import DataConfig
from avaloc.formats import (
    write_detections,
    write_excluded_timestamps,
    write_ground_truth,
    write_label_map,
)
from avaloc.video.testing import write_numbered_video

LABELS = {1: "stand", 3: "walk", 7: "talk"}


def gt_rows() -> pd.DataFrame:
    rows = [
        # video, t, x1, y1, x2, y2, action, person
        ("vidA", 2, 0.1, 0.2, 0.5, 0.9, 1, 0),
        ("vidA", 2, 0.1, 0.2, 0.5, 0.9, 7, 0),
        ("vidA", 2, 0.6, 0.1, 0.9, 0.8, 3, 1),
        ("vidA", 3, 0.2, 0.2, 0.6, 0.9, 3, 0),
        ("vidA", 4, 0.3, 0.3, 0.7, 0.7, 1, 0),  # excluded keyframe
        ("vidB", 1, 0.0, 0.0, 0.5, 0.5, 7, 0),
        ("vidB", 2, 0.5, 0.5, 1.0, 1.0, 1, 2),
    ]
    columns = ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"]
    return pd.DataFrame(rows, columns=columns)


def det_rows() -> pd.DataFrame:
    rows = [
        ("vidA", 2, 0.11, 0.2, 0.5, 0.9, -1, 0.95),  # matches GT person 0 (labels 1, 7)
        ("vidA", 2, 0.0, 0.0, 0.05, 0.1, -1, 0.97),  # unmatched: a negative
        ("vidA", 2, 0.6, 0.1, 0.9, 0.8, -1, 0.5),  # below every threshold
        ("vidA", 3, 0.2, 0.2, 0.6, 0.9, -1, 0.86),
        ("vidB", 2, 0.5, 0.5, 1.0, 1.0, -1, 0.99),
    ]
    columns = ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "score"]
    return pd.DataFrame(rows, columns=columns)


def make_dataset(root: Path) -> Path:
    # vidA: 6 s at 30 fps, 256x192 (4:3); vidB: 4 s at 10 fps, 320x192 (5:3)
    write_numbered_video(root / "videos" / "vidA.mp4", 180, fps=30, width=256, height=192)
    write_numbered_video(root / "videos" / "vidB.mp4", 40, fps=10, width=320, height=192)
    ann = root / "annotations"
    write_label_map(LABELS, ann / "label_map.pbtxt")
    write_ground_truth(gt_rows(), ann / "train.csv")
    write_ground_truth(gt_rows(), ann / "val.csv")
    write_excluded_timestamps({("vidA", 4)}, ann / "train_excluded_timestamps.csv")
    write_excluded_timestamps({("vidA", 4)}, ann / "val_excluded_timestamps.csv")
    write_detections(det_rows(), ann / "val_detections.csv")
    write_detections(det_rows(), ann / "train_detections.csv")
    clips = root / "clips"
    clips.mkdir()
    (clips / "train.csv").write_text("path,label\nvideos/vidA.mp4,0\nvideos/vidB.mp4,1\n")
    (clips / "val.csv").write_text("path,label\nvideos/vidB.mp4,1\n")
    return root


@pytest.fixture(scope="session")
def mini_root(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("mini_ava"))


@pytest.fixture
def mini_config(mini_root) -> DataConfig:
    """Small clips: 8 fast frames every 2nd frame (at 30 fps), alpha 4, small scales."""
    return DataConfig(
        root=str(mini_root),
        num_frames=8,
        sampling_rate=2,
        alpha=4,
        train_scales=[96, 128],
        train_crop_size=96,
        test_scale=192,
    )


def clip_frame_numbers(clip, mean: float = 0.45, std: float = 0.225) -> list[int]:
    """Frame numbers of a normalised (3, T, H, W) clip of a numbered video (no crop, no flip)."""
    import numpy as np
    import torch

    from avaloc.video.testing import decode_frame_number

    pixels = ((clip * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)
    frames = pixels.permute(1, 2, 3, 0).numpy()
    return [decode_frame_number(np.ascontiguousarray(f)) for f in frames]


@pytest.fixture
def frame_numbers():
    return clip_frame_numbers
