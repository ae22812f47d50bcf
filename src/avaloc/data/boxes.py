"""The boxes of each keyframe: ground truth, detections, and labels transferred between them.

A :class:`KeyframeBoxes` table holds, for every keyframe, a run of boxes (normalized x1 y1 x2 y2)
with their multi-hot labels over the label map's classes, a score (1 for ground truth) and the
ground-truth instance each came from (-1 for a detection).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torchvision.ops import box_iou

from avaloc.formats import BOX_COLUMNS, Instances, Keyframe


@dataclass(frozen=True)
class KeyframeBoxes:
    """Boxes grouped by keyframe: keyframe ``k`` owns rows ``offsets[k]:offsets[k + 1]``."""

    keyframes: list[Keyframe]
    offsets: np.ndarray  # (F + 1,) int64
    boxes: np.ndarray  # (M, 4) float64, normalized
    labels: np.ndarray  # (M, C) bool
    scores: np.ndarray  # (M,) float32
    instance: np.ndarray  # (M,) int64, GT instance index or -1

    def __len__(self) -> int:
        return len(self.keyframes)

    def rows(self, keyframe: int) -> slice:
        return slice(int(self.offsets[keyframe]), int(self.offsets[keyframe + 1]))


def transfer_labels(
    det_boxes: np.ndarray, gt_boxes: np.ndarray, gt_labels: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Each detection takes the labels of the GT box it overlaps most if IoU >= threshold,
    else none (a negative, PySlowFast's ``include_negative`` practice). (D, C) bool."""
    labels = np.zeros((len(det_boxes), gt_labels.shape[1]), dtype=bool)
    if len(det_boxes) == 0 or len(gt_boxes) == 0:
        return labels
    iou = box_iou(torch.from_numpy(det_boxes), torch.from_numpy(gt_boxes)).numpy()
    best = iou.argmax(axis=1)
    matched = iou[np.arange(len(det_boxes)), best] >= iou_threshold
    labels[matched] = gt_labels[best[matched]]
    return labels


def _detections_by_keyframe(
    detections: pd.DataFrame | None, threshold: float, excluded: set[Keyframe]
) -> dict[Keyframe, tuple[np.ndarray, np.ndarray]]:
    """Keyframe -> (boxes (D, 4), scores (D,)) of the person detections above ``threshold``."""
    if detections is None or len(detections) == 0:
        return {}
    frame = detections.loc[detections["score"].to_numpy() >= threshold]
    result: dict[Keyframe, tuple[np.ndarray, np.ndarray]] = {}
    for (video_id, timestamp), group in frame.groupby(["video_id", "timestamp"], sort=True):
        key = (str(video_id), int(timestamp))
        if key in excluded:
            continue
        boxes = group[BOX_COLUMNS].to_numpy(dtype=np.float64)
        # one box listed once (detection CSVs repeat a box per action class)
        boxes, first = np.unique(boxes, axis=0, return_index=True)
        scores = group["score"].to_numpy(dtype=np.float32)[first]
        result[key] = (boxes, scores)
    return result


def build_keyframe_boxes(
    instances: Instances,
    class_ids: Sequence[int],
    *,
    detections: pd.DataFrame | None = None,
    detection_threshold: float = 0.9,
    label_transfer_iou: float = 0.5,
    keyframes_from: str = "ground_truth",
    excluded: Iterable[Keyframe] = (),
) -> KeyframeBoxes:
    """Per-keyframe boxes for training or testing.

    ``keyframes_from="ground_truth"``: the GT keyframes, boxes = GT instances, plus the
    detections above the threshold with labels transferred by IoU (training with detections).
    ``keyframes_from="detections"``: the keyframes with detections above the threshold, boxes =
    those detections, labels transferred from the GT when present (testing).
    """
    excluded = set(excluded)
    multi_hot = (
        instances.multi_hot(class_ids) if len(instances) else np.zeros((0, len(class_ids)), bool)
    )
    gt_slices = {key: rows for key, rows in instances.keyframe_slices() if key not in excluded}
    dets = _detections_by_keyframe(detections, detection_threshold, excluded)
    if keyframes_from == "ground_truth":
        keys = list(gt_slices)
    elif keyframes_from == "detections":
        keys = sorted(dets)
    else:
        raise ValueError(
            f"keyframes_from must be 'ground_truth' or 'detections', not {keyframes_from!r}"
        )
    boxes, labels, scores, owner, counts = [], [], [], [], []
    empty = slice(0, 0)
    for key in keys:
        rows = gt_slices.get(key, empty)
        gt_boxes, gt_labels = instances.boxes[rows], multi_hot[rows]
        det_boxes, det_scores = dets.get(key, (np.zeros((0, 4)), np.zeros(0, np.float32)))
        det_labels = transfer_labels(det_boxes, gt_boxes, gt_labels, label_transfer_iou)
        if keyframes_from == "ground_truth":
            parts = [
                (
                    gt_boxes,
                    gt_labels,
                    np.ones(len(gt_boxes), np.float32),
                    np.arange(rows.start, rows.stop),
                ),
                (det_boxes, det_labels, det_scores, np.full(len(det_boxes), -1)),
            ]
        else:
            parts = [(det_boxes, det_labels, det_scores, np.full(len(det_boxes), -1))]
        count = 0
        for part_boxes, part_labels, part_scores, part_owner in parts:
            boxes.append(part_boxes)
            labels.append(part_labels)
            scores.append(part_scores)
            owner.append(part_owner)
            count += len(part_boxes)
        counts.append(count)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)

    def cat(items: list[np.ndarray], shape: tuple[int, ...], dtype) -> np.ndarray:
        return np.concatenate(items).astype(dtype) if items else np.zeros(shape, dtype)

    return KeyframeBoxes(
        keyframes=keys,
        offsets=offsets,
        boxes=cat(boxes, (0, 4), np.float64).reshape(-1, 4),
        labels=cat(labels, (0, len(class_ids)), bool).reshape(-1, len(class_ids)),
        scores=cat(scores, (0,), np.float32),
        instance=cat(owner, (0,), np.int64),
    )
