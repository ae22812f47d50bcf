"""Frame-mAP on small hand-computed cases: each test pins one rule of the official evaluator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import gt_frame, pred_frame
from official_reference import official_reference

from avaloc.errors import InputError
from avaloc.evaluation import frame_map, voc_average_precision

LABELS = {1: "stand", 2: "sit", 3: "talk"}
BOX_A = (0.1, 0.1, 0.4, 0.6)
BOX_B = (0.5, 0.2, 0.9, 0.9)
FAR = (0.0, 0.0, 0.05, 0.05)


def ap(result, class_id):
    return result.per_class[class_id].ap


def test_hand_computed_ap_with_duplicate_detection_and_false_positive():
    # class 1: GT at keyframes 900 and 901. Ranked: TP, duplicate (FP), far box (FP), TP.
    # precision 1, 1/2, 1/3, 1/2 -> made monotone 1, 1/2, 1/2, 1/2; recall steps 1/2, 1/2.
    # AP = 1/2 * 1 + 1/2 * 1/2 = 0.75.
    gt = gt_frame([("v", 900, *BOX_A, 1), ("v", 901, *BOX_B, 1)])
    pred = pred_frame(
        [
            ("v", 900, *BOX_A, 1, 0.9),
            ("v", 900, *BOX_A, 1, 0.8),
            ("v", 901, *FAR, 1, 0.7),
            ("v", 901, *BOX_B, 1, 0.6),
        ]
    )
    result = frame_map(gt, pred, LABELS)
    assert ap(result, 1) == pytest.approx(0.75, abs=1e-12)
    assert result.per_class[1].num_gt == 2
    assert result.per_class[2].ap is None and result.per_class[3].ap is None
    assert result.mAP == pytest.approx(0.75, abs=1e-12)  # classes without GT left out


def test_perfect_predictions_give_one():
    rows = [
        ("v", 900 + k % 5, *np.round(np.array(BOX_A) + 0.01 * k, 3), 1 + k % 3) for k in range(30)
    ]
    gt = gt_frame(rows)
    pred = pred_frame([(*r, 1.0 - 0.01 * k) for k, r in enumerate(rows)])
    result = frame_map(gt, pred, LABELS)
    assert result.mAP == 1.0
    assert all(r.ap == 1.0 for r in result.per_class.values())


def test_detection_goes_to_its_best_gt_even_when_taken():
    # Two GT boxes of class 1; the first detection takes A; the second overlaps A most
    # (IoU 0.84) and B enough (IoU 0.62), yet is a false positive: the official matcher
    # never falls back to the second-best box. AP = 1/2 (one of two GT found, at rank 1).
    box_a = (0.0, 0.0, 0.5, 1.0)
    box_b = (0.2, 0.0, 0.7, 1.0)
    second = (0.05, 0.0, 0.6, 1.0)
    gt = gt_frame([("v", 900, *box_a, 1), ("v", 900, *box_b, 1)])
    pred = pred_frame([("v", 900, *box_a, 1, 0.9), ("v", 900, *second, 1, 0.8)])
    result = frame_map(gt, pred, LABELS)
    assert ap(result, 1) == pytest.approx(0.5, abs=1e-12)


def test_duplicate_gt_rows_are_separate_instances_that_cannot_both_be_matched():
    gt = gt_frame([("v", 900, *BOX_A, 1), ("v", 900, *BOX_A, 1)])
    pred = pred_frame([("v", 900, *BOX_A, 1, 0.9), ("v", 900, *BOX_A, 1, 0.8)])
    result = frame_map(gt, pred, LABELS)
    assert result.per_class[1].num_gt == 2
    assert ap(result, 1) == pytest.approx(0.5, abs=1e-12)


def test_iou_exactly_half_is_a_match_and_just_below_is_not():
    gt_box = (0.0, 0.0, 0.5, 0.5)
    half = (0.0, 0.0, 0.5, 0.25)  # intersection 0.125 / union 0.25 = 0.5 exactly
    below = (0.0, 0.0, 0.5, 0.2499)
    gt = gt_frame([("v", 900, *gt_box, 1)])
    assert ap(frame_map(gt, pred_frame([("v", 900, *half, 1, 0.5)]), LABELS), 1) == 1.0
    assert ap(frame_map(gt, pred_frame([("v", 900, *below, 1, 0.5)]), LABELS), 1) == 0.0


def test_capacity_of_fifty_per_keyframe():
    # 60 detections in one keyframe; the true positive has the lowest score. The official
    # protocol keeps the 50 best, so it is gone (AP 0); PySlowFast keeps all (AP 1/60).
    gt = gt_frame([("v", 900, *BOX_A, 1)])
    rows = [("v", 900, *FAR, 1 + k % 2, 0.5 + k / 1000) for k in range(59)]
    rows.append(("v", 900, *BOX_A, 1, 0.01))
    pred = pred_frame(rows)
    official = frame_map(gt, pred, LABELS)
    assert ap(official, 1) == 0.0
    assert official.ignored.pred_over_capacity == 10
    pyslowfast = frame_map(gt, pred, LABELS, protocol="pyslowfast")
    assert ap(pyslowfast, 1) == pytest.approx(1 / 31, abs=1e-12)  # rank 31 of 31 in class 1
    # The capacity counts per keyframe: the same rows spread over two keyframes all stay.
    spread = pred.copy()
    spread.loc[::2, "timestamp"] = 901
    spread.loc[len(spread) - 1, "timestamp"] = 900
    assert ap(frame_map(gt, spread, LABELS), 1) > 0


def test_rows_of_other_classes_are_ignored_and_counted():
    gt = gt_frame([("v", 900, *BOX_A, 1), ("v", 900, *BOX_A, 77)])
    pred = pred_frame([("v", 900, *BOX_A, 1, 0.9), ("v", 900, *BOX_A, 77, 0.95)])
    result = frame_map(gt, pred, LABELS)
    assert ap(result, 1) == 1.0
    assert 77 not in result.per_class
    assert result.ignored.gt_outside_label_map == 1
    assert result.ignored.pred_outside_label_map == 1


def test_excluded_keyframes_are_ignored_in_gt_and_predictions():
    gt = gt_frame([("v", 900, *BOX_A, 1), ("v", 901, *BOX_B, 1)])
    pred = pred_frame([("v", 900, *BOX_A, 1, 0.9), ("v", 901, *FAR, 1, 0.95)])
    plain = frame_map(gt, pred, LABELS)
    assert ap(plain, 1) == pytest.approx(0.25, abs=1e-12)  # FP first, then 1 of 2 GT
    result = frame_map(gt, pred, LABELS, excluded={("v", 901)})
    assert ap(result, 1) == 1.0
    assert result.per_class[1].num_gt == 1
    assert result.ignored.gt_excluded == 1 and result.ignored.pred_excluded == 1


def test_keyframes_without_gt_contribute_false_positives_and_gt_without_detections_misses():
    gt = gt_frame([("v", 900, *BOX_A, 2), ("w", 5, *BOX_A, 2)])
    pred = pred_frame([("v", 900, *BOX_A, 2, 0.5), ("u", 7, *BOX_A, 2, 0.9)])
    # ranked: FP (no GT at u,7), TP -> precision 1/2 at recall 1/2.
    assert ap(frame_map(gt, pred, LABELS), 2) == pytest.approx(0.25, abs=1e-12)


def test_class_with_gt_but_no_detections_has_ap_zero():
    gt = gt_frame([("v", 900, *BOX_A, 1), ("v", 900, *BOX_A, 2)])
    pred = pred_frame([("v", 900, *BOX_A, 1, 0.9)])
    result = frame_map(gt, pred, LABELS)
    assert ap(result, 2) == 0.0
    assert result.mAP == pytest.approx(0.5)


def test_permuting_rows_with_distinct_scores_changes_nothing():
    rng = np.random.default_rng(3)
    gt_rows, pred_rows = [], []
    for k in range(40):
        box = tuple(
            np.round([0.3 * rng.random(), 0.3 * rng.random(), 0.6 + 0.3 * rng.random(), 0.9], 3)
        )
        gt_rows.append(("v", 900 + k % 7, *box, 1 + k % 3))
        jitter = tuple(np.round(np.array(box) + rng.normal(0, 0.05, 4), 3).clip(0, 1))
        for c in (1, 2, 3):
            pred_rows.append(("v", 900 + k % 7, *jitter, c, 0.0))
    scores = rng.permutation(len(pred_rows)) / len(pred_rows)
    pred = pred_frame([(*r[:-1], s) for r, s in zip(pred_rows, scores)])
    gt = gt_frame(gt_rows)
    first = frame_map(gt, pred, LABELS)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(pred))
        shuffled = frame_map(gt, pred.iloc[order].reset_index(drop=True), LABELS)
        assert shuffled.mAP == first.mAP
        assert {c: r.ap for c, r in shuffled.per_class.items()} == {
            c: r.ap for c, r in first.per_class.items()
        }


def test_tied_scores_rule_and_range():
    # A false positive (keyframe 900, listed first) and a true positive (keyframe 901) share a
    # score. Rule: the later one in the evaluator's concatenation ranks first -> AP 1.
    gt = gt_frame([("v", 901, *BOX_A, 1)])
    rows = [("v", 900, *FAR, 1, 0.5), ("v", 901, *BOX_A, 1, 0.5)]
    result = frame_map(gt, pred_frame(rows), LABELS)
    entry = result.per_class[1]
    assert (entry.ap, entry.ap_best, entry.ap_worst) == (1.0, 1.0, 0.5)
    reversed_result = frame_map(gt, pred_frame(rows[::-1]), LABELS)
    assert reversed_result.per_class[1].ap == 0.5


def test_pyslowfast_matches_in_input_order():
    # Two detections of one GT box: the official protocol gives the TP to the higher score,
    # PySlowFast to the first row. Ranked by score the TP is then 1st resp. 2nd.
    gt = gt_frame([("v", 900, *BOX_A, 1)])
    pred = pred_frame([("v", 900, *BOX_A, 1, 0.3), ("v", 900, *BOX_A, 1, 0.9)])
    assert ap(frame_map(gt, pred, LABELS), 1) == 1.0
    assert ap(frame_map(gt, pred, LABELS, protocol="pyslowfast"), 1) == 0.5


def test_no_gt_at_all_gives_nan_and_bad_arguments_fail():
    pred = pred_frame([("v", 900, *BOX_A, 1, 0.9)])
    result = frame_map(gt_frame([]), pred, LABELS)
    assert math.isnan(result.mAP)
    with pytest.raises(InputError, match="protocol"):
        frame_map(gt_frame([]), pred, LABELS, protocol="coco")
    bad = pred.copy()
    bad.loc[0, "score"] = float("nan")
    with pytest.raises(InputError, match="score"):
        frame_map(gt_frame([]), bad, LABELS)


def test_voc_average_precision_by_hand():
    # TP ranks 1 and 3 of 2 GT: precision 1, 2/3 -> AP = 1/2 + 1/2 * 2/3.
    assert voc_average_precision(np.array([1, 3]), 2) == pytest.approx(0.5 + 1 / 3)
    # Envelope: ranks 2, 3 of 3 GT: precisions 1/2, 2/3 -> both 2/3; recall stops at 2/3.
    assert voc_average_precision(np.array([2, 3]), 3) == pytest.approx(2 / 3 * 2 / 3)
    assert voc_average_precision(np.array([], dtype=int), 4) == 0.0


def test_iou_tie_between_gt_boxes_follows_the_official_heap_order():
    # D overlaps A and B with exactly equal IoU (5/7). A is taken by an earlier detection.
    # The official reader stores GT per keyframe in a heap of (1.0, action, y1, x1, y2, x2), so
    # A (smaller x1) comes first whatever the file order, and D aims at A: a false positive.
    # PySlowFast keeps file order: with B listed first, D aims at B and is a true positive.
    box_a = (0.0, 0.0, 0.75, 1.0)
    box_b = (0.25, 0.0, 1.0, 1.0)
    box_d = (0.125, 0.0, 0.875, 1.0)
    pred = pred_frame([("v", 900, *box_a, 1, 0.9), ("v", 900, *box_d, 1, 0.8)])
    for gt_rows in ([box_b, box_a], [box_a, box_b]):
        rows = [("v", 900, *box, 1) for box in gt_rows]
        assert ap(frame_map(gt_frame(rows), pred, LABELS), 1) == 0.5
        expected, _ = official_reference(rows, pred.itertuples(index=False), LABELS)
        assert expected[1] == 0.5
    b_first = gt_frame([("v", 900, *box_b, 1), ("v", 900, *box_a, 1)])
    assert ap(frame_map(b_first, pred, LABELS, protocol="pyslowfast"), 1) == 1.0


def test_empty_predictions_give_zero_for_classes_with_gt():
    gt = gt_frame([("v", 900, *BOX_A, 1)])
    empty = pred_frame([])
    result = frame_map(gt, empty, LABELS)
    assert result.mAP == 0.0 and result.per_class[1].num_detections == 0
