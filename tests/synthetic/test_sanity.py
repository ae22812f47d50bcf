"""The one-frame vs clip sanity check: its AP and a run on the tiny set."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from avaloc.synthetic.sanity import CLIP_OFFSETS, CROP_SIZE, average_precision, extract_crops, run


def test_average_precision_by_hand() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert math.isclose(average_precision(scores, np.array([1, 0, 1, 0])), (1 + 2 / 3) / 2)
    assert average_precision(scores, np.array([1, 1, 0, 0])) == 1.0
    assert math.isnan(average_precision(scores, np.zeros(4, dtype=int)))


def test_crops_follow_the_person_over_time(tiny_set: Path) -> None:
    crops, labels = extract_crops(tiny_set, "val")
    assert crops.shape[1:] == (len(CLIP_OFFSETS), 3, CROP_SIZE[1], CROP_SIZE[0])
    assert labels.shape == (len(crops), 20) and labels.any(axis=1).all()
    # The person sits in the middle of the crop: the centre differs from the crop's corners.
    centre = crops[
        :, 2, :, CROP_SIZE[1] // 4 : -CROP_SIZE[1] // 4, CROP_SIZE[0] // 3 : -CROP_SIZE[0] // 3
    ]
    assert centre.std() > 20


def test_run_reports_pose_and_motion_means(tiny_set: Path) -> None:
    result = run(tiny_set, epochs=1)
    for name in ("one_frame", "clip"):
        assert 0.0 <= result[name]["pose_mean_ap"] <= 1.0
        assert set(result[name]["per_class_ap"]) >= {"stand", "walk", "talk"}
