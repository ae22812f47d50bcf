"""Figures and the detector-threshold sweep."""

from __future__ import annotations

import pytest
from conftest import gt_frame, pred_frame

from avaloc.errors import InputError
from avaloc.evaluation import (
    attach_detector_scores,
    frame_map,
    plot_per_class_ap,
    plot_threshold_sweep,
    plot_two_runs,
    sweep_table,
    threshold_sweep,
)

LABELS = {1: "stand", 2: "sit"}
A = (0.1, 0.1, 0.4, 0.6)
B = (0.5, 0.2, 0.9, 0.9)


def sweep_inputs():
    gt = gt_frame([("v", 900, *A, 1), ("v", 900, *B, 2)])
    # Box A (detector score 0.3) is right for class 1; box B (detector score 0.8) is wrong
    # for class 1 with a higher action score, and right for class 2.
    pred = pred_frame(
        [
            ("v", 900, *A, 1, 0.6),
            ("v", 900, *B, 1, 0.7),
            ("v", 900, *B, 2, 0.9),
        ]
    )
    dets = pred_frame([("v", 900, *A, -1, 0.3), ("v", 900, *B, -1, 0.8)])
    return gt, pred, dets


def test_threshold_sweep_by_hand():
    gt, pred, dets = sweep_inputs()
    with_scores = attach_detector_scores(pred, dets)
    assert with_scores["det_score"].tolist() == [0.3, 0.8, 0.8]
    points = threshold_sweep(gt, with_scores, LABELS, [0.0, 0.5, 0.9])
    # t=0: class 1 ranks FP (0.7) then TP (0.6): AP 1/2; class 2 AP 1 -> mAP 0.75.
    # t=0.5: box A gone: class 1 AP 0, class 2 AP 1 -> 0.5. t=0.9: nothing left -> 0.
    assert [p.mAP for p in points] == pytest.approx([0.75, 0.5, 0.0])
    assert [p.boxes for p in points] == [2, 1, 0]
    table = sweep_table(points)
    assert "| 0.5 | 0.5000 | 1 | 2 |" in table


def test_attach_detector_scores_rejects_unknown_boxes():
    _, pred, dets = sweep_inputs()
    with pytest.raises(InputError, match="not among the person detections"):
        attach_detector_scores(pred, dets.iloc[:1])
    with pytest.raises(InputError, match="det_score"):
        threshold_sweep(gt_frame([]), pred, LABELS)


def test_plots_are_written(tmp_path):
    gt, pred, dets = sweep_inputs()
    first = frame_map(gt, pred, LABELS)
    second = frame_map(gt, pred.iloc[[0, 2]], LABELS)
    plot_per_class_ap(first, tmp_path / "one.png")
    plot_two_runs(first, second, {1: 10, 2: 500}, tmp_path / "two.png")
    points = threshold_sweep(gt, attach_detector_scores(pred, dets), LABELS)
    plot_threshold_sweep(points, tmp_path / "sweep.png")
    for name in ("one.png", "two.png", "sweep.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 5000
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes left nothing behind
