"""The video demo on a generated video with a fixed detector and a toy action model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from avaloc.data import DataConfig
from avaloc.detect import FrameDetections
from avaloc.formats import read_detections
from avaloc.pipeline.demo import run_demo
from avaloc.video import open_video
from avaloc.video.testing import write_numbered_video


class WalkingDetector:
    """Two persons; the first moves right by 10 px a second (at 10 fps: 1 px a frame)."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frames):
        shift = 10.0 * self.calls
        self.calls += 1
        boxes = np.array(
            [[10 + shift, 20, 50 + shift, 120], [150, 30, 190, 130], [0, 0, 5, 5]], dtype=np.float64
        )
        return [FrameDetections(boxes, np.array([0.99, 0.9, 0.1]))]


class BoxWidthModel(nn.Module):
    """Logit of class 0 = box width / input width (so probabilities are checkable)."""

    def forward(self, inputs, boxes):
        width = inputs[0].shape[-1]
        relative = (boxes[:, 3] - boxes[:, 1]) / width
        return torch.stack([relative, -relative], dim=1)


def test_demo_end_to_end(tmp_path):
    video = write_numbered_video(tmp_path / "walk.mp4", 45, fps=10, width=256, height=192)
    data = DataConfig(num_frames=8, sampling_rate=2, alpha=4, sampling_fps=None, test_scale=96)
    summary = run_demo(
        video,
        [BoxWidthModel()],
        data,
        WalkingDetector(),
        {7: "walk", 9: "run"},
        tmp_path / "out.mp4",
        tmp_path / "out.csv",
        class_ids=[7, 9],
        score_threshold=0.5,
        progress=False,
    )
    # keyframes at 0..4 s (frame 40 is the last inside the 45-frame video)
    assert (summary.keyframes, summary.persons, summary.tracks) == (5, 10, 2)
    predictions = read_detections(tmp_path / "out.csv")
    assert len(predictions) == 5 * 2 * 2
    assert sorted(set(predictions["action_id"])) == [7, 9]
    walk = predictions[(predictions["action_id"] == 7) & (predictions["x1"] > 0.5)]
    np.testing.assert_allclose(walk["score"], 1 / (1 + np.exp(-40 / 256)), atol=1e-4)
    tracks = pd.read_csv(tmp_path / "out.tracks.csv")
    moving = tracks[tracks["x1"] < 0.5]
    assert set(moving["track_id"]) == {1} and set(tracks[tracks["x1"] > 0.5]["track_id"]) == {2}
    out = open_video(tmp_path / "out.mp4")
    assert out.num_frames == summary.frames_written == 45
    original, drawn = open_video(video).read_frames([12])[0], out.read_frames([12])[0]
    assert np.abs(original.astype(int) - drawn.astype(int)).max() > 100  # boxes were drawn
