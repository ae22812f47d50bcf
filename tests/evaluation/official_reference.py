"""A slow, line-by-line re-implementation of the official AVA evaluator, for testing.

It follows ``get_ava_performance.py`` (ActivityNet, 2019) and the TF object-detection files it
uses (``object_detection_evaluation.py``, ``per_image_evaluation.py``, ``metrics.py``,
``np_box_ops.py``) statement by statement, with plain Python containers, so that it shares no
code and no idea with the vectorised implementation. The one deliberate change: the global
``np.argsort(scores)[::-1]`` of ``compute_precision_recall`` takes a ``tie_order`` argument,
because numpy's default sort leaves the order of tied scores to the platform.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

import numpy as np


def make_image_key(video_id, timestamp):
    return f"{video_id},{int(timestamp):04d}"


def read_rows(rows, class_whitelist, capacity, with_scores, use_heap=True):
    """``read_csv`` of get_ava_performance (``use_heap=False``: PySlowFast's version)."""
    entries = defaultdict(list)
    boxes = defaultdict(list)
    labels = defaultdict(list)
    scores = defaultdict(list)
    for row in rows:
        image_key = make_image_key(row[0], row[1])
        x1, y1, x2, y2 = [float(n) for n in row[2:6]]
        action_id = int(row[6])
        if class_whitelist and action_id not in class_whitelist:
            continue
        score = 1.0
        if with_scores:
            score = float(row[7])
        if not use_heap:
            boxes[image_key].append([y1, x1, y2, x2])
            labels[image_key].append(action_id)
            scores[image_key].append(score)
            continue
        if capacity < 1 or len(entries[image_key]) < capacity:
            heapq.heappush(entries[image_key], (score, action_id, y1, x1, y2, x2))
        elif score > entries[image_key][0][0]:
            heapq.heapreplace(entries[image_key], (score, action_id, y1, x1, y2, x2))
    for image_key in entries:
        entry = sorted(entries[image_key], key=lambda tup: -tup[0])
        for item in entry:
            score, action_id, y1, x1, y2, x2 = item
            boxes[image_key].append([y1, x1, y2, x2])
            labels[image_key].append(action_id)
            scores[image_key].append(score)
    return boxes, labels, scores


def box_iou(boxes1, boxes2):
    """np_box_ops.iou on [y_min, x_min, y_max, x_max] arrays."""
    y_min1, x_min1, y_max1, x_max1 = np.split(boxes1, 4, axis=1)
    y_min2, x_min2, y_max2, x_max2 = np.split(boxes2, 4, axis=1)
    all_pairs_min_ymax = np.minimum(y_max1, np.transpose(y_max2))
    all_pairs_max_ymin = np.maximum(y_min1, np.transpose(y_min2))
    intersect_heights = np.maximum(
        np.zeros(all_pairs_max_ymin.shape), all_pairs_min_ymax - all_pairs_max_ymin
    )
    all_pairs_min_xmax = np.minimum(x_max1, np.transpose(x_max2))
    all_pairs_max_xmin = np.maximum(x_min1, np.transpose(x_min2))
    intersect_widths = np.maximum(
        np.zeros(all_pairs_max_xmin.shape), all_pairs_min_xmax - all_pairs_max_xmin
    )
    intersect = intersect_heights * intersect_widths
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    union = np.expand_dims(area1, axis=1) + np.expand_dims(area2, axis=0) - intersect
    return intersect / union


def tp_fp_single_class(detected_boxes, detected_scores, groundtruth_boxes, threshold):
    if detected_boxes.size == 0:
        return np.array([], dtype=float), np.array([], dtype=bool)
    iou = box_iou(detected_boxes, groundtruth_boxes)
    scores = detected_scores
    num_detected_boxes = detected_boxes.shape[0]
    if groundtruth_boxes.size == 0:
        return scores, np.zeros(num_detected_boxes, dtype=bool)
    tp_fp_labels = np.zeros(num_detected_boxes, dtype=bool)
    if iou.shape[1] > 0:
        max_overlap_gt_ids = np.argmax(iou, axis=1)
        is_gt_box_detected = np.zeros(iou.shape[1], dtype=bool)
        for i in range(num_detected_boxes):
            gt_id = max_overlap_gt_ids[i]
            if iou[i, gt_id] >= threshold and not is_gt_box_detected[gt_id]:
                tp_fp_labels[i] = True
                is_gt_box_detected[gt_id] = True
    return scores, tp_fp_labels


def precision_recall(scores, labels, num_gt, tie_order):
    if tie_order == "stable":
        sorted_indices = np.argsort(scores, kind="stable")[::-1]
    elif tie_order == "tp_first":
        sorted_indices = np.lexsort((~labels, -scores))
    elif tie_order == "fp_first":
        sorted_indices = np.lexsort((labels, -scores))
    else:
        raise ValueError(tie_order)
    true_positive_labels = labels[sorted_indices]
    false_positive_labels = (true_positive_labels <= 0).astype(float)
    cum_true_positives = np.cumsum(true_positive_labels)
    cum_false_positives = np.cumsum(false_positive_labels)
    precision = cum_true_positives.astype(float) / (cum_true_positives + cum_false_positives)
    recall = cum_true_positives.astype(float) / num_gt
    return precision, recall


def average_precision(precision, recall):
    if not precision.size:
        return 0.0
    recall = np.concatenate([[0], recall, [1]])
    precision = np.concatenate([[0], precision, [0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = np.maximum(precision[i], precision[i + 1])
    indices = np.where(recall[1:] != recall[:-1])[0] + 1
    return np.sum((recall[indices] - recall[indices - 1]) * precision[indices])


def official_reference(
    gt_rows,
    pred_rows,
    label_map,
    excluded=(),
    *,
    protocol="official",
    tie_order="stable",
    threshold=0.5,
):
    """Per-class AP (dict id -> float, NaN without GT) and the mAP, the official way.

    ``gt_rows``: tuples ``(video, ts, x1, y1, x2, y2, action)``; ``pred_rows`` add the score.
    """
    class_whitelist = set(label_map)
    num_class = max(label_map)
    excluded_keys = {make_image_key(v, t) for v, t in excluded}
    use_heap = protocol == "official"
    boxes, labels, _ = read_rows(gt_rows, class_whitelist, 0, False, use_heap)
    gt = {}
    num_gt = np.zeros(num_class, dtype=int)
    for image_key in boxes:
        if image_key in excluded_keys:
            continue
        classes = np.array(labels[image_key], dtype=int) - 1
        gt[image_key] = (np.array(boxes[image_key], dtype=float), classes)
        for class_index in range(num_class):
            num_gt[class_index] += np.sum(classes == class_index)
    boxes, labels, scores = read_rows(pred_rows, class_whitelist, 50, True, use_heap)
    scores_per_class = [[] for _ in range(num_class)]
    tp_fp_per_class = [[] for _ in range(num_class)]
    for image_key in boxes:
        if image_key in excluded_keys:
            continue
        det_boxes = np.array(boxes[image_key], dtype=float)
        det_classes = np.array(labels[image_key], dtype=int) - 1
        det_scores = np.array(scores[image_key], dtype=float)
        valid = np.logical_and(det_boxes[:, 0] < det_boxes[:, 2], det_boxes[:, 1] < det_boxes[:, 3])
        det_boxes, det_classes, det_scores = det_boxes[valid], det_classes[valid], det_scores[valid]
        gt_boxes, gt_classes = gt.get(image_key, (np.empty((0, 4)), np.array([], dtype=int)))
        for i in range(num_class):
            s, tp = tp_fp_single_class(
                det_boxes[det_classes == i],
                det_scores[det_classes == i],
                gt_boxes[gt_classes == i],
                threshold,
            )
            if s.shape[0] > 0:
                scores_per_class[i].append(s)
                tp_fp_per_class[i].append(tp)
    aps = np.full(num_class, np.nan)
    for class_index in range(num_class):
        if num_gt[class_index] == 0:
            continue
        if not scores_per_class[class_index]:
            s = np.array([], dtype=float)
            tp = np.array([], dtype=bool)
        else:
            s = np.concatenate(scores_per_class[class_index])
            tp = np.concatenate(tp_fp_per_class[class_index])
        precision, recall = precision_recall(s, tp, num_gt[class_index], tie_order)
        aps[class_index] = average_precision(precision, recall)
    per_class = {c: float(aps[c - 1]) for c in label_map}
    with np.errstate(all="ignore"):
        mean = float(np.nanmean(aps)) if np.isfinite(aps).any() else float("nan")
    return per_class, mean
