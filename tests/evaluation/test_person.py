"""Person-box AP: hand-computed cases and the real PETS 2009 ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import gt_frame, pred_frame

from avaloc.evaluation import person_ap, person_ap_details, read_box_table
from tests.conftest import shared_path

A = (0.0, 0.0, 0.75, 1.0)
B = (0.25, 0.0, 1.0, 1.0)
C = (0.0, 0.0, 0.2, 0.2)


def test_detection_falls_back_to_the_best_unmatched_box():
    # The second detection overlaps A most, but A is taken: it matches B (IoU 0.6) - unlike
    # frame-mAP's matcher. Third detection: nothing left -> FP. Ranks TP, TP, FP of 2 GT.
    gt = gt_frame([("v", 0, *A, 1), ("v", 0, *B, 1)])
    second = (0.05, 0.0, 0.8, 1.0)
    det = pred_frame([("v", 0, *A, -1, 0.9), ("v", 0, *second, -1, 0.8), ("v", 0, *A, -1, 0.7)])
    result = person_ap_details(gt, det)
    assert (result.true_positives, result.false_positives) == (2, 1)
    assert result.ap == pytest.approx(1.0)


def test_hand_computed_pooled_ranking_over_keyframes():
    # Scores pool keyframes: FP (0.95, keyframe 1), TP (0.9, kf 0), TP (0.5, kf 1); 3 GT boxes.
    # precision 0, 1/2, 2/3 -> AP = 1/3 * 2/3 + 1/3 * 2/3 = 4/9.
    gt = gt_frame([("v", 0, *A, 1), ("v", 1, *A, 1), ("v", 1, *C, 1)])
    far = (0.85, 0.0, 1.0, 0.1)
    det = pred_frame([("v", 1, *far, -1, 0.95), ("v", 0, *A, -1, 0.9), ("v", 1, *C, -1, 0.5)])
    assert person_ap(gt, det) == pytest.approx(4 / 9)


def test_ignore_regions_drop_covered_false_positives_only():
    gt = gt_frame([("v", 0, *A, 1)])
    det = pred_frame([("v", 0, *C, -1, 0.95), ("v", 0, *A, -1, 0.9)])
    assert person_ap(gt, det) == pytest.approx(0.5)
    ignore = gt_frame([("v", 0, 0.0, 0.0, 0.15, 0.3, 1)])  # covers 3/4 of C
    result = person_ap_details(gt, det, ignore_rows=ignore)
    assert result.ap == pytest.approx(1.0)
    assert result.dropped_in_ignore_regions == 1
    small = gt_frame([("v", 0, 0.0, 0.0, 0.05, 0.2, 1)])  # covers 1/4 of C: not dropped
    assert person_ap(gt, det, ignore_rows=small) == pytest.approx(0.5)


def test_repeated_gt_rows_of_a_box_count_once():
    gt = gt_frame([("v", 0, *A, 1), ("v", 0, *A, 5), ("v", 0, *A, 9)])
    det = pred_frame([("v", 0, *A, -1, 0.9)])
    assert person_ap_details(gt, det).num_gt == 1
    assert person_ap(gt, det) == 1.0


def test_pets_ground_truth_against_itself_and_shifted():
    root = shared_path("data", "video", "pets2009_gt")
    gt = read_box_table(root / "persons_gt.csv", "gt")
    perfect = pd.DataFrame(
        {
            "video_id": gt.video_names[gt.video_codes],
            "timestamp": gt.timestamps,
            **{c: gt.boxes[:, k] for k, c in enumerate(["x1", "y1", "x2", "y2"])},
            "action_id": -1,
            "score": np.linspace(1, 0.5, len(gt)),
        }
    )
    assert person_ap(gt, perfect) == 1.0
    shifted = perfect.copy()
    width = shifted["x2"] - shifted["x1"]
    shifted[["x1", "x2"]] = shifted[["x1", "x2"]].add(0.6 * width, axis=0).clip(upper=1.0)
    result = person_ap_details(gt, shifted)  # IoU of a box shifted by 0.6 width is 1/4
    # Only the odd shifted box lands on a neighbour: a handful of TPs out of 467.
    assert result.true_positives < 0.05 * result.num_gt and result.ap < 0.01
    ignore = read_box_table(root / "persons_ignore.csv", "gt")
    with_ignore = person_ap_details(gt, perfect, ignore_rows=ignore)
    assert with_ignore.ap == 1.0 and with_ignore.dropped_in_ignore_regions == 0
