"""Class-agnostic person-box AP@0.5, for evaluating the person detector.

Protocol (the one ``/work/shared/data/video/pets2009_gt/README.md`` states): every detection of
every keyframe is pooled and sorted by score (descending; equal scores keep the input order);
in that order each detection takes the *still unmatched* ground-truth box of its keyframe with
the highest IoU, a true positive when that IoU is >= the threshold. With ignore regions, an
unmatched detection covered at least half by an ignore box (intersection / detection area
>= 0.5) is dropped rather than counted as a false positive. AP is the PASCAL VOC area (the
same formula as frame-mAP). Ground-truth rows repeating a box of a keyframe (one row per action
in AVA files) count as one person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from avaloc.evaluation.frame_map import iou_pairs, voc_average_precision
from avaloc.evaluation.tables import BoxTable, keyframe_keys, unify_videos

IGNORE_COVERAGE = 0.5


@dataclass(frozen=True)
class PersonApResult:
    ap: float
    num_gt: int
    num_detections: int
    true_positives: int
    false_positives: int
    dropped_in_ignore_regions: int

    @property
    def recall(self) -> float:
        return self.true_positives / self.num_gt if self.num_gt else float("nan")


def person_ap(
    gt_rows: pd.DataFrame | BoxTable,
    det_rows: pd.DataFrame | BoxTable,
    iou_threshold: float = 0.5,
    ignore_rows: pd.DataFrame | BoxTable | None = None,
) -> float:
    """Person AP@``iou_threshold`` of detections (class ignored) against person boxes."""
    return person_ap_details(gt_rows, det_rows, iou_threshold, ignore_rows).ap


def _coverage(det: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Intersection over the detection's area, (D, R)."""
    inter_w = np.maximum(
        0.0,
        np.minimum(det[:, None, 2], regions[None, :, 2])
        - np.maximum(det[:, None, 0], regions[None, :, 0]),
    )
    inter_h = np.maximum(
        0.0,
        np.minimum(det[:, None, 3], regions[None, :, 3])
        - np.maximum(det[:, None, 1], regions[None, :, 1]),
    )
    area = (det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1])
    return inter_w * inter_h / np.maximum(area, 1e-12)[:, None]


def person_ap_details(
    gt_rows: pd.DataFrame | BoxTable,
    det_rows: pd.DataFrame | BoxTable,
    iou_threshold: float = 0.5,
    ignore_rows: pd.DataFrame | BoxTable | None = None,
) -> PersonApResult:
    """:func:`person_ap` with the counts behind it."""
    gt = BoxTable.from_rows(gt_rows, what="ground-truth")
    det = BoxTable.from_rows(det_rows, what="detection")
    if det.scores is None:
        raise ValueError("detection rows need a score column")
    tables = [gt, det] + (
        [] if ignore_rows is None else [BoxTable.from_rows(ignore_rows, what="ignore")]
    )
    codes, _ = unify_videos(*tables)
    keys = [keyframe_keys(c, t.timestamps) for c, t in zip(codes, tables)]

    gt_frame = pd.DataFrame(gt.boxes, columns=["x1", "y1", "x2", "y2"])
    gt_frame["key"] = keys[0]
    distinct = ~gt_frame.duplicated().to_numpy()
    gt_keys, gt_boxes = keys[0][distinct], gt.boxes[distinct]
    gt_by_key = _group(gt_keys)
    ignore_by_key = _group(keys[2]) if ignore_rows is not None else {}
    ignore_boxes = tables[2].boxes if ignore_rows is not None else np.zeros((0, 4))

    order = np.argsort(-det.scores, kind="stable")
    det_keys = keys[1][order]
    det_boxes = det.boxes[order]
    outcome = np.zeros(len(order), dtype=np.int8)  # 1 TP, 0 FP, -1 dropped
    for key, rows in _group(det_keys).items():  # rows ascend: score order within keyframe
        boxes = det_boxes[rows]
        gts = gt_by_key.get(key)
        matched_any = np.zeros(len(rows), dtype=bool)
        if gts is not None:
            candidates = gt_boxes[gts]
            iou = iou_pairs(
                np.repeat(boxes, len(gts), axis=0), np.tile(candidates, (len(rows), 1))
            ).reshape(len(rows), len(gts))
            free = np.ones(len(gts), dtype=bool)
            for i in range(len(rows)):
                masked = np.where(free, iou[i], -1.0)
                best = int(np.argmax(masked))
                if masked[best] >= iou_threshold:
                    free[best] = False
                    matched_any[i] = True
        outcome[rows[matched_any]] = 1
        regions = ignore_by_key.get(key)
        if regions is not None:
            unmatched = rows[~matched_any]
            covered = _coverage(det_boxes[unmatched], ignore_boxes[regions]) >= IGNORE_COVERAGE
            outcome[unmatched[covered.any(axis=1)]] = -1
    kept = outcome[outcome >= 0]
    ranks = np.flatnonzero(kept == 1) + 1
    num_gt = len(gt_keys)
    ap = voc_average_precision(ranks, num_gt) if num_gt else float("nan")
    return PersonApResult(
        ap=ap,
        num_gt=num_gt,
        num_detections=len(order),
        true_positives=int((kept == 1).sum()),
        false_positives=int((kept == 0).sum()),
        dropped_in_ignore_regions=int((outcome < 0).sum()),
    )


def _group(keys: np.ndarray) -> dict[int, np.ndarray]:
    """key -> indices (ascending) of the rows with that key."""
    if len(keys) == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    ends = np.append(starts[1:], len(keys))
    return {int(sorted_keys[s]): order[s:e] for s, e in zip(starts, ends)}
