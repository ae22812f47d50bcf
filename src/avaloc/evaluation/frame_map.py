"""AVA frame-mAP, identical to the ActivityNet 2019 evaluator and vectorised.

The official evaluator (``get_ava_performance.py`` on the TF object-detection PASCAL evaluator)
is a Python loop over rows, keyframes and classes. Its semantics reduce to array operations:

* every detection is matched to the ground-truth box of its keyframe and class with the highest
  IoU (the first one in the evaluator's GT order when several tie); the match does not depend on
  which boxes are already taken, so targets are computed for all detections at once;
* a detection is a true positive iff its IoU with its target is >= 0.5 and it is the first of
  the detections aiming at that target, in the per-keyframe processing order;
* average precision only needs, per class, the rank of each true positive in the score-sorted
  list, which sorted scores and ``searchsorted`` give without sorting the detections themselves.

The few keyframes where the official order is decided by its heap (a score tie at the capacity
boundary, equal scores of one class in a keyframe with ground truth, an IoU tie between distinct
GT boxes) are replayed exactly, keyframe by keyframe, by :func:`_replay_keyframe`. Everything
else is numpy over all keyframes and classes at once. See ``docs/evaluation.md``.
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from avaloc.errors import InputError
from avaloc.evaluation.tables import BoxTable, excluded_keys, keyframe_keys, unify_videos

Protocol = Literal["official", "pyslowfast"]
PROTOCOLS = ("official", "pyslowfast")
OFFICIAL_CAPACITY = 50
IOU_THRESHOLD = 0.5
_DENSE_GROUP_LIMIT = 50_000_000


@dataclass(frozen=True)
class ClassResult:
    """AP of one class; ``ap`` is None when the class has no ground truth.

    ``ap_best``/``ap_worst``: the AP when detections with tied scores are ranked true positives
    first / false positives first; ``ap`` uses the documented deterministic tie rule.
    """

    name: str
    ap: float | None
    num_gt: int
    num_detections: int = 0
    num_true_positives: int = 0
    ap_best: float | None = None
    ap_worst: float | None = None


@dataclass(frozen=True)
class IgnoredRows:
    """Rows the evaluator left out, by reason (never silent)."""

    gt_outside_label_map: int = 0
    pred_outside_label_map: int = 0
    gt_excluded: int = 0
    pred_excluded: int = 0
    pred_over_capacity: int = 0
    pred_invalid_box: int = 0


@dataclass(frozen=True)
class FrameMapResult:
    """Frame-mAP over the label-map classes that have ground truth (NaN when none has)."""

    mAP: float
    per_class: dict[int, ClassResult]
    protocol: str
    ignored: IgnoredRows = field(default_factory=IgnoredRows)
    mAP_best: float = float("nan")
    mAP_worst: float = float("nan")
    replayed_keyframes: int = 0

    def to_json(self) -> dict:
        return {
            "mAP": _json_float(self.mAP),
            "per_class": {
                str(class_id): {
                    "name": result.name,
                    "ap": None if result.ap is None else _json_float(result.ap),
                    "num_gt": result.num_gt,
                }
                for class_id, result in self.per_class.items()
            },
        }


def _json_float(value: float) -> float | None:
    return None if value != value else float(value)


# ----------------------------------------------------------------------------- public API
def frame_map(
    gt_rows: pd.DataFrame | BoxTable,
    pred_rows: pd.DataFrame | BoxTable,
    label_map: Mapping[int, str],
    excluded: Iterable[tuple[str, int]] = (),
    protocol: Protocol = "official",
    *,
    iou_threshold: float = IOU_THRESHOLD,
) -> FrameMapResult:
    """AVA frame-mAP@0.5 of ``pred_rows`` against ``gt_rows`` over the classes of ``label_map``.

    Rows of classes outside the label map and rows of ``excluded`` keyframes are ignored and
    counted. ``protocol="official"`` is the ActivityNet evaluator (top 50 detections per
    keyframe, handed over by descending score); ``"pyslowfast"`` is PySlowFast's evaluation
    (every detection, in input order).
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown protocol {protocol!r} (choose from {', '.join(PROTOCOLS)})")
    gt = BoxTable.from_rows(gt_rows, what="ground-truth")
    pred = BoxTable.from_rows(pred_rows, what="prediction")
    if pred.scores is None:
        raise InputError("prediction rows have no score column")
    if len(label_map) == 0:
        raise InputError("the label map has no classes")
    return _evaluate(gt, pred, dict(label_map), excluded, protocol, iou_threshold)


# ----------------------------------------------------------------------------- the pipeline
@dataclass
class _Detections:
    """Detections that reached matching, with their labels and ranking keys."""

    cls: np.ndarray
    scores: np.ndarray
    order_key: np.ndarray  # concatenation position of the official evaluator (ties: larger first)
    true_positive: np.ndarray


def _evaluate(
    gt: BoxTable,
    pred: BoxTable,
    label_map: dict[int, str],
    excluded: Iterable[tuple[str, int]],
    protocol: str,
    iou_threshold: float,
) -> FrameMapResult:
    class_ids = np.array(sorted(label_map), dtype=np.int64)
    num_classes = len(class_ids)
    (gt_video, pred_video), video_names = unify_videos(gt, pred)

    gt_cls = _class_index(gt.actions, class_ids)
    pred_cls = _class_index(pred.actions, class_ids)
    gt_in = np.flatnonzero(gt_cls >= 0)
    pred_rows = None if (pred_cls >= 0).all() else np.flatnonzero(pred_cls >= 0)
    ignored = {
        "gt_outside_label_map": len(gt) - len(gt_in),
        "pred_outside_label_map": len(pred) - _length(pred_rows, len(pred)),
    }

    # Keyframes, numbered in order of first appearance among the predictions (the order in
    # which the official evaluator concatenates per-keyframe results).
    pred_kf, kf_keys = _first_appearance_ids(
        _take(keyframe_keys(pred_video, pred.timestamps), pred_rows)
    )
    gt_keys = keyframe_keys(gt_video[gt_in], gt.timestamps[gt_in])
    gt_kf, kf_keys = _extend_ids(gt_keys, kf_keys)
    num_kf = len(kf_keys)

    excluded_kf = np.isin(kf_keys, excluded_keys(excluded, video_names))
    gt_keep = ~excluded_kf[gt_kf]
    gt_rows = gt_in[gt_keep]
    gt_kf = gt_kf[gt_keep]
    ignored["gt_excluded"] = int((~gt_keep).sum())
    pred_excluded = excluded_kf[pred_kf]
    ignored["pred_excluded"] = int(pred_excluded.sum())
    if ignored["pred_excluded"]:
        local = np.flatnonzero(~pred_excluded)
        pred_kf = pred_kf[local]
        pred_rows = _compose(pred_rows, local)

    g = _Ground(
        kf=gt_kf,
        cls=gt_cls[gt_rows],
        boxes=gt.boxes[gt_rows],
        actions=gt.actions[gt_rows],
    )
    inverted = (g.boxes[:, 2] < g.boxes[:, 0]) | (g.boxes[:, 3] < g.boxes[:, 1])
    if inverted.any():
        row = int(gt_rows[np.flatnonzero(inverted)[0]])
        raise InputError(f"ground-truth row {row}: box has x2 < x1 or y2 < y1")
    num_gt = np.bincount(g.cls, minlength=num_classes)

    over_capacity = 0
    kept = None
    if protocol == "official":
        scores = _take(pred.scores, pred_rows)
        kept, over_capacity = _capacity(
            pred_kf,
            scores,
            lambda rows: (
                _take(pred.actions, _compose(pred_rows, rows)),
                _take(pred.boxes, _compose(pred_rows, rows)),
            ),
            num_kf,
            OFFICIAL_CAPACITY,
        )
    rows = _compose(pred_rows, kept)
    p = _Predicted(
        kf=_take(pred_kf, kept),
        cls=_take(pred_cls, rows),
        boxes=_take(pred.boxes, rows),
        scores=_take(pred.scores, rows),
        actions=_take(pred.actions, rows),
        file_order=np.arange(len(pred)) if rows is None else rows,
    )
    replay = np.zeros(num_kf, dtype=bool)
    valid = (p.boxes[:, 1] < p.boxes[:, 3]) & (p.boxes[:, 0] < p.boxes[:, 2])
    invalid_kf = p.kf[~valid]
    p = p.subset(np.flatnonzero(valid))

    gt_unique = _unique_gt(g, num_classes)
    if protocol == "official":
        # Ranking position: the keyframe's appearance; inside a keyframe only replayed
        # keyframes need more (elsewhere no two detections of a class share a score where it
        # matters), and those get their processing index from the replay.
        order_key = p.kf.astype(np.int64) << 20
        processing = -p.scores
    else:
        order_key = p.kf.astype(np.int64) * max(len(pred), 1) + p.file_order
        processing = p.file_order.astype(np.float64)
    dets, groups = _detections_with_gt(p, gt_unique, num_kf, num_classes)
    true_positive, flagged = _match(p, gt_unique, dets, groups, num_kf, processing, iou_threshold)
    if protocol == "official":
        replay |= flagged
        replay |= _same_class_score_ties(p, dets, groups, num_kf)

    detections = _Detections(p.cls, p.scores, order_key, true_positive)
    invalid = int((~replay[invalid_kf]).sum())
    if replay.any():
        detections, replay_invalid = _merge_replayed(
            detections, p, g, replay, pred, pred_rows, pred_kf, class_ids, iou_threshold
        )
        invalid += int(replay_invalid.sum())
    ignored["pred_over_capacity"] = over_capacity
    ignored["pred_invalid_box"] = invalid

    per_class, mean, best, worst = _average_precisions(detections, num_gt, class_ids, label_map)
    return FrameMapResult(
        mAP=mean,
        per_class=per_class,
        protocol=protocol,
        ignored=IgnoredRows(**ignored),
        mAP_best=best,
        mAP_worst=worst,
        replayed_keyframes=int(replay.sum()),
    )


@dataclass
class _Ground:
    kf: np.ndarray
    cls: np.ndarray
    boxes: np.ndarray  # x1 y1 x2 y2
    actions: np.ndarray


@dataclass
class _Predicted:
    kf: np.ndarray
    cls: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    actions: np.ndarray
    file_order: np.ndarray  # position among the in-label-map, non-excluded rows of the file

    def subset(self, rows: np.ndarray) -> _Predicted:
        if len(rows) == len(self.kf):
            return self
        return _Predicted(
            self.kf[rows],
            self.cls[rows],
            self.boxes[rows],
            self.scores[rows],
            self.actions[rows],
            self.file_order[rows],
        )


def _take(array: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """``array[rows]``, where None stands for all rows (no copy)."""
    return array if rows is None else array[rows]


def _compose(rows: np.ndarray | None, local: np.ndarray | None) -> np.ndarray | None:
    if local is None:
        return rows
    return local if rows is None else rows[local]


def _length(rows: np.ndarray | None, total: int) -> int:
    return total if rows is None else len(rows)


def _class_index(actions: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    """Position of each action id in ``class_ids`` (sorted), -1 when absent."""
    if len(actions) == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(class_ids[-1])
    if top < 1_000_000:
        lookup = np.full(top + 2, -1, dtype=np.int64)
        lookup[class_ids[class_ids >= 0]] = np.flatnonzero(class_ids >= 0)
        if actions.min() >= 0 and actions.max() <= top:
            return lookup[actions]
        return lookup[np.where((actions >= 0) & (actions <= top), actions, top + 1)]
    position = np.searchsorted(class_ids, actions).clip(0, len(class_ids) - 1)
    return np.where(class_ids[position] == actions, position, -1)


def _first_appearance_ids(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids numbered by first appearance, and the keys in that order.

    Works on runs of equal keys, so a file written keyframe by keyframe costs one pass.
    """
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    unique, first_run, inverse = np.unique(keys[starts], return_index=True, return_inverse=True)
    by_appearance = np.argsort(first_run, kind="stable")
    rank = np.empty_like(by_appearance)
    rank[by_appearance] = np.arange(len(by_appearance))
    lengths = np.diff(np.append(starts, len(keys)))
    return np.repeat(rank[inverse], lengths), unique[by_appearance]


def _extend_ids(keys: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of ``keys`` in ``known``, appending the keys not yet known."""
    unique, inverse = np.unique(keys, return_inverse=True)
    if len(known):
        order = np.argsort(known)
        position = np.searchsorted(known, unique, sorter=order).clip(0, len(known) - 1)
        found = known[order[position]] == unique
        ids = np.where(found, order[position], -1)
    else:
        found = np.zeros(len(unique), dtype=bool)
        ids = np.full(len(unique), -1, dtype=np.int64)
    new = np.flatnonzero(~found)
    ids[new] = len(known) + np.arange(len(new))
    return ids[inverse].astype(np.int64), np.concatenate([known, unique[new]])


def _segments(ids: np.ndarray, size: int) -> tuple[np.ndarray | None, np.ndarray]:
    """Order grouping rows by ``ids`` (None: already grouped), and the group starts."""
    if len(ids) == 0 or np.all(ids[1:] >= ids[:-1]):
        order = None
    else:
        order = np.argsort(ids, kind="stable")
    counts = np.bincount(ids, minlength=size)
    return order, np.concatenate([[0], np.cumsum(counts)])


def _capacity(
    kf: np.ndarray,
    scores: np.ndarray,
    tuples_of: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    num_kf: int,
    capacity: int,
) -> tuple[np.ndarray | None, int]:
    """Rows kept by the official per-keyframe heap of ``capacity`` (the highest scores).

    Returns the kept row indices (None: all) and the number dropped. ``tuples_of(rows)`` gives
    the action ids and boxes of rows, needed where scores tie at the boundary.
    """
    counts = np.bincount(kf, minlength=num_kf)
    big = np.flatnonzero(counts > capacity)
    if len(big) == 0:
        return None, 0
    order, starts = _segments(kf, num_kf)
    grouped_scores = scores if order is None else scores[order]
    threshold = np.full(num_kf, -np.inf)
    ambiguous = np.zeros(num_kf, dtype=bool)
    widths = (counts[big] + 31) // 32 * 32
    last = len(scores) - 1
    for width in np.unique(widths).tolist():
        kfs = big[widths == width]
        columns = np.arange(width)
        index = np.minimum(starts[kfs][:, None] + columns, last)
        values = grouped_scores[index]
        values[columns >= counts[kfs][:, None]] = -np.inf
        cut = np.partition(values, width - capacity, axis=1)[:, width - capacity]
        threshold[kfs] = cut
        ambiguous[kfs] = (values >= cut[:, None]).sum(axis=1) > capacity
    if order is None:
        keep = scores >= np.repeat(threshold, counts)
    else:
        keep = scores >= threshold[kf]
    if ambiguous.any():
        tied = np.flatnonzero(ambiguous[kf])
        keep[tied] = _boundary_ties(kf[tied], scores[tied], threshold, tuples_of(tied), capacity)
    kept = np.flatnonzero(keep)
    return kept, len(scores) - len(kept)


def _boundary_ties(
    kf: np.ndarray,
    scores: np.ndarray,
    threshold: np.ndarray,
    tuples: tuple[np.ndarray, np.ndarray],
    capacity: int,
) -> np.ndarray:
    """Which rows of keyframes whose 50th score is tied the official heap keeps.

    Rows are in file order. With s* the 50th score: every row above s* is kept. Rows at or
    above s* are never evicted until ``capacity`` of them have arrived (lower rows go first);
    from then on the heap holds only them, rows at s* or below are refused, and each later
    row above s* evicts the smallest ``(action, y1, x1, y2, x2)`` among the s* rows. So the
    kept s* rows are those among the first ``capacity`` rows >= s*, minus their r smallest
    tuples, r the number of rows above s* arriving after them.
    """
    order = np.argsort(kf, kind="stable")
    kf, scores = kf[order], scores[order]
    actions, boxes = tuples[0][order], tuples[1][order]
    cut = threshold[kf]
    relevant = scores >= cut
    starts = np.flatnonzero(np.concatenate([[True], kf[1:] != kf[:-1]]))
    sizes = np.diff(np.append(starts, len(kf)))
    before = np.cumsum(relevant) - relevant
    rank = before - np.repeat(before[starts], sizes)  # rows >= s* earlier in the keyframe
    above = scores > cut
    early_tied = (scores == cut) & (rank < capacity)
    evictions = np.bincount(kf[above & (rank >= capacity)], minlength=len(threshold))
    candidates = np.flatnonzero(early_tied)
    candidates = candidates[
        np.lexsort(
            (
                boxes[candidates, 2],
                boxes[candidates, 3],
                boxes[candidates, 0],
                boxes[candidates, 1],
                actions[candidates],
                kf[candidates],
            )
        )
    ]
    group_kf = kf[candidates]
    first = np.flatnonzero(np.concatenate([[True], group_kf[1:] != group_kf[:-1]]))
    position = np.arange(len(candidates)) - np.repeat(
        first, np.diff(np.append(first, len(candidates)))
    )
    keep = above.copy()
    keep[candidates[position >= evictions[group_kf]]] = True
    result = np.empty_like(keep)
    result[order] = keep
    return result


@dataclass
class _UniqueGt:
    """Distinct GT boxes per (keyframe, class) group, in order of first appearance."""

    group_keys: np.ndarray  # sorted distinct kf * C + cls
    group_start: np.ndarray
    group_size: np.ndarray
    boxes: np.ndarray


def _unique_gt(g: _Ground, num_classes: int) -> _UniqueGt:
    """Distinct boxes per group: a repeated box can never be matched (argmax picks its twin)."""
    group = g.kf.astype(np.int64) * num_classes + g.cls
    frame = pd.DataFrame({"group": group, "x1": g.boxes[:, 0], "y1": g.boxes[:, 1]})
    frame["x2"], frame["y2"] = g.boxes[:, 2], g.boxes[:, 3]
    kept = np.flatnonzero(~frame.duplicated().to_numpy())  # first occurrences, file order
    kept = kept[np.argsort(group[kept], kind="stable")]
    keys, start, size = np.unique(group[kept], return_index=True, return_counts=True)
    return _UniqueGt(keys, start, size, g.boxes[kept])


def iou_pairs(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Row-wise IoU of x1y1x2y2 boxes with the TF object-detection float operations (no +1)."""
    inter_h = np.maximum(0.0, np.minimum(det[:, 3], gt[:, 3]) - np.maximum(det[:, 1], gt[:, 1]))
    inter_w = np.maximum(0.0, np.minimum(det[:, 2], gt[:, 2]) - np.maximum(det[:, 0], gt[:, 0]))
    intersection = inter_h * inter_w
    det_area = (det[:, 3] - det[:, 1]) * (det[:, 2] - det[:, 0])
    gt_area = (gt[:, 3] - gt[:, 1]) * (gt[:, 2] - gt[:, 0])
    return intersection / (det_area + gt_area - intersection)


def _group_lookup(keys: np.ndarray, query: np.ndarray, size: int) -> np.ndarray:
    """Index of each query in the sorted ``keys`` or -1."""
    if size <= _DENSE_GROUP_LIMIT:
        table = np.full(size, -1, dtype=np.int64)
        table[keys] = np.arange(len(keys))
        return table[query]
    position = np.searchsorted(keys, query).clip(0, max(len(keys) - 1, 0))
    return np.where(keys[position] == query, position, -1) if len(keys) else position * 0 - 1


def _detections_with_gt(
    p: _Predicted, gt: _UniqueGt, num_kf: int, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Detections whose (keyframe, class) group has ground truth, and that group's index."""
    if len(p.kf) == 0 or len(gt.group_keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    group = p.kf.astype(np.int64) * num_classes + p.cls
    where = _group_lookup(gt.group_keys, group, num_kf * num_classes)
    dets = np.flatnonzero(where >= 0)
    return dets, where[dets]


def _match(
    p: _Predicted,
    gt: _UniqueGt,
    dets: np.ndarray,
    where: np.ndarray,
    num_kf: int,
    processing: np.ndarray,
    iou_threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """True-positive flags, and the keyframes whose best IoU ties between distinct GT boxes."""
    true_positive = np.zeros(len(p.kf), dtype=bool)
    flagged = np.zeros(num_kf, dtype=bool)
    if len(dets) == 0:
        return true_positive, flagged
    pairs_per_det = gt.group_size[where]
    det_of_pair = np.repeat(np.arange(len(dets)), pairs_per_det)
    pair_start = np.concatenate([[0], np.cumsum(pairs_per_det)[:-1]])
    gt_of_pair = np.repeat(gt.group_start[where] - pair_start, pairs_per_det) + np.arange(
        len(det_of_pair)
    )
    iou = iou_pairs(p.boxes[dets][det_of_pair], gt.boxes[gt_of_pair])
    best = np.maximum.reduceat(iou, pair_start)
    at_best = iou == best[det_of_pair]
    ties = np.add.reduceat(at_best, pair_start)
    first_best = np.flatnonzero(at_best)
    first_best = first_best[np.concatenate([[True], np.diff(det_of_pair[first_best]) != 0])]
    target = gt_of_pair[first_best]
    hit = best >= iou_threshold
    flagged[p.kf[dets[hit & (ties > 1)]]] = True

    candidates = np.flatnonzero(hit)
    order = np.lexsort((processing[dets[candidates]], target[candidates]))
    candidates = candidates[order]
    first = np.ones(len(candidates), dtype=bool)
    first[1:] = target[candidates[1:]] != target[candidates[:-1]]
    true_positive[dets[candidates[first]]] = True
    return true_positive, flagged


def _same_class_score_ties(
    p: _Predicted, dets: np.ndarray, groups: np.ndarray, num_kf: int
) -> np.ndarray:
    """Keyframes where two detections of a class with ground truth share a score.

    Their order (and so which one is the true positive) is the official heap's order.
    """
    flagged = np.zeros(num_kf, dtype=bool)
    scores = p.scores[dets]
    order = np.lexsort((scores, groups))
    g, s = groups[order], scores[order]
    same = (g[1:] == g[:-1]) & (s[1:] == s[:-1])
    flagged[p.kf[dets[order][1:][same]]] = True
    return flagged


# ----------------------------------------------------------------------------- exact replay
def _replay_keyframe(
    det_rows: list[tuple[float, int, float, float, float, float]],
    gt_rows: list[tuple[float, int, float, float, float, float]],
    capacity: int,
    iou_threshold: float,
) -> tuple[list[tuple[int, float, int, bool]], int, int]:
    """One keyframe exactly as the official evaluator does it.

    Rows are ``(score, action_id, y1, x1, y2, x2)`` in file order (GT score 1.0). Returns
    ``(action_id, score, processing index, true positive)`` per kept detection, and the counts
    dropped by the capacity and for an invalid box.
    """
    heap: list[tuple[float, int, float, float, float, float]] = []
    for row in det_rows:
        if capacity < 1 or len(heap) < capacity:
            heapq.heappush(heap, row)
        elif row[0] > heap[0][0]:
            heapq.heapreplace(heap, row)
    entries = sorted(heap, key=lambda row: -row[0])
    gt_heap: list[tuple[float, int, float, float, float, float]] = []
    for row in gt_rows:
        heapq.heappush(gt_heap, row)
    dropped = len(det_rows) - len(heap)
    valid = [(i, r) for i, r in enumerate(entries) if r[2] < r[4] and r[3] < r[5]]
    invalid = len(entries) - len(valid)
    result = []
    for action in sorted({r[1] for _, r in valid}):
        dets = [(i, r) for i, r in valid if r[1] == action]
        gts = np.array([r[2:] for r in gt_heap if r[1] == action], dtype=float).reshape(-1, 4)
        taken = np.zeros(len(gts), dtype=bool)
        for index, row in dets:
            tp = False
            if len(gts):
                box = np.array([row[3], row[2], row[5], row[4]])[None]
                ious = iou_pairs(np.repeat(box, len(gts), 0), gts[:, [1, 0, 3, 2]])
                best = int(np.argmax(ious))
                if ious[best] >= iou_threshold and not taken[best]:
                    taken[best] = tp = True
            result.append((action, row[0], index, tp))
    return result, dropped, invalid


def _merge_replayed(
    detections: _Detections,
    p: _Predicted,
    g: _Ground,
    replay: np.ndarray,
    pred: BoxTable,
    pred_rows: np.ndarray | None,
    pred_kf: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
) -> tuple[_Detections, np.ndarray]:
    """Replace the detections of the ``replay`` keyframes by their exact official replay.

    Also returns, per keyframe, the rows the replay dropped for an invalid box.
    """
    keep = ~replay[p.kf]
    det_pick = np.flatnonzero(replay[pred_kf])
    det_pick = det_pick[np.argsort(pred_kf[det_pick], kind="stable")]
    gt_pick = np.flatnonzero(replay[g.kf])
    gt_pick = gt_pick[np.argsort(g.kf[gt_pick], kind="stable")]
    det_by_kf = _split(det_pick if pred_rows is None else pred_rows[det_pick], pred_kf[det_pick])
    gt_by_kf = _split(gt_pick, g.kf[gt_pick])
    empty = np.zeros(0, dtype=np.int64)
    invalid = np.zeros(len(replay), dtype=np.int64)
    new_cls, new_scores, new_keys, new_tp = [], [], [], []
    for kf in np.flatnonzero(replay).tolist():
        rows = det_by_kf.get(kf, empty)
        det_rows = [
            (s, a, b[1], b[0], b[3], b[2])
            for s, a, b in zip(
                pred.scores[rows].tolist(), pred.actions[rows].tolist(), pred.boxes[rows].tolist()
            )
        ]
        gts = gt_by_kf.get(kf, empty)
        gt_rows = [
            (1.0, a, b[1], b[0], b[3], b[2])
            for a, b in zip(g.actions[gts].tolist(), g.boxes[gts].tolist())
        ]
        result, _, invalid[kf] = _replay_keyframe(
            det_rows, gt_rows, OFFICIAL_CAPACITY, iou_threshold
        )
        for action, score, index, tp in result:
            new_cls.append(action)
            new_scores.append(score)
            new_keys.append((kf << 20) + index)
            new_tp.append(tp)
    merged = _Detections(
        cls=np.concatenate(
            [detections.cls[keep], _class_index(np.array(new_cls, dtype=np.int64), class_ids)]
        ),
        scores=np.concatenate([detections.scores[keep], np.array(new_scores, dtype=float)]),
        order_key=np.concatenate([detections.order_key[keep], np.array(new_keys, dtype=np.int64)]),
        true_positive=np.concatenate([detections.true_positive[keep], np.array(new_tp, bool)]),
    )
    return merged, invalid


def _split(rows: np.ndarray, ids: np.ndarray) -> dict[int, np.ndarray]:
    if len(rows) == 0:
        return {}
    starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
    ends = np.append(starts[1:], len(ids))
    return {int(ids[s]): rows[s:e] for s, e in zip(starts, ends)}


# ----------------------------------------------------------------------------- AP
def voc_average_precision(tp_ranks: np.ndarray, num_gt: int) -> float:
    """PASCAL VOC AP from the 1-based ranks of the true positives (ascending, distinct).

    Bit-for-bit the float operations of ``metrics.compute_precision_recall`` and
    ``compute_average_precision``: precision k/rank made non-increasing from the right, summed
    over recall steps, including the final step to recall 1 at precision 0.
    """
    if len(tp_ranks) == 0:
        return 0.0
    k = np.arange(1, len(tp_ranks) + 1, dtype=np.float64)
    precision = k / tp_ranks.astype(np.float64)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    recall = k / num_gt
    previous = np.concatenate([[0.0], recall[:-1]])
    terms = (recall - previous) * envelope
    if recall[-1] != 1.0:
        terms = np.append(terms, (1.0 - recall[-1]) * 0.0)
    return float(np.sum(terms))


def tp_ranks(
    scores: np.ndarray, order_key: np.ndarray, true_positive: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-based ranks of the true positives: (tie rule, best tie order, worst tie order).

    The ranking is by descending score; tied scores are ordered by descending ``order_key``
    (a stable ascending sort, reversed, as numpy's small-array sort does in the official code).
    Only the true positives' ranks are needed, so instead of sorting all scores each one is
    located among the (few) distinct true-positive scores.
    """
    tp = np.flatnonzero(true_positive)
    if len(tp) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    n = len(scores)
    levels = np.unique(scores[tp])  # ascending distinct TP scores
    level_of = np.searchsorted(levels, scores, "left")  # levels[k] < score  <=>  k < level_of
    above_level = n - np.cumsum(np.bincount(level_of, minlength=len(levels) + 1))[:-1]
    equal = levels[np.minimum(level_of, len(levels) - 1)] == scores
    tied_level = np.bincount(level_of[equal], minlength=len(levels))
    tp_level = np.searchsorted(levels, scores[tp])
    above = above_level[tp_level]
    rule = above + 1
    best = above + 1
    worst = above + 1
    tied_tp = tied_level[tp_level] > 1
    if tied_tp.any():
        members = np.flatnonzero(equal & (tied_level[np.minimum(level_of, len(levels) - 1)] > 1))
        members = members[np.lexsort((-order_key[members], -scores[members]))]
        m_level = level_of[members]
        m_tp = true_positive[members]
        starts = np.concatenate([[True], m_level[1:] != m_level[:-1]])
        block = np.cumsum(starts) - 1
        block_start = np.flatnonzero(starts)
        within = np.arange(len(members)) - block_start[block]
        tp_before = np.cumsum(m_tp) - m_tp
        tp_within = tp_before - tp_before[block_start][block]
        block_fp = np.diff(np.append(block_start, len(members))) - np.add.reduceat(
            m_tp, block_start
        )
        m_above = above_level[m_level]
        member_tp = np.flatnonzero(m_tp)
        where_tp = np.full(n, -1, dtype=np.int64)
        where_tp[members[member_tp]] = np.arange(len(member_tp))
        picked = member_tp[where_tp[tp[tied_tp]]]
        rule[tied_tp] = (m_above + within + 1)[picked]
        best[tied_tp] = (m_above + tp_within + 1)[picked]
        worst[tied_tp] = (m_above + block_fp[block] + tp_within + 1)[picked]
    return np.sort(rule), np.sort(best), np.sort(worst)


def _average_precisions(
    detections: _Detections,
    num_gt: np.ndarray,
    class_ids: np.ndarray,
    label_map: dict[int, str],
) -> tuple[dict[int, ClassResult], float, float, float]:
    small = np.int16 if len(class_ids) < 2**15 else np.int64
    order = np.argsort(detections.cls.astype(small), kind="stable")  # radix sort for int16
    bounds = np.searchsorted(detections.cls[order], np.arange(len(class_ids) + 1))
    per_class: dict[int, ClassResult] = {}
    aps, bests, worsts = [], [], []
    for index, class_id in enumerate(class_ids.tolist()):
        rows = order[bounds[index] : bounds[index + 1]]
        name = label_map[class_id]
        count = int(num_gt[index])
        if count == 0:
            per_class[class_id] = ClassResult(name, None, 0, len(rows))
            continue
        rule, best, worst = tp_ranks(
            detections.scores[rows], detections.order_key[rows], detections.true_positive[rows]
        )
        ap = voc_average_precision(rule, count)
        ap_best = voc_average_precision(best, count)
        ap_worst = voc_average_precision(worst, count)
        per_class[class_id] = ClassResult(name, ap, count, len(rows), len(rule), ap_best, ap_worst)
        aps.append(ap)
        bests.append(ap_best)
        worsts.append(ap_worst)
    with_gt = [c for c in class_ids.tolist() if per_class[c].ap is not None]
    return (
        per_class,
        _nanmean_by_id(with_gt, aps, class_ids),
        _nanmean_by_id(with_gt, bests, class_ids),
        _nanmean_by_id(with_gt, worsts, class_ids),
    )


def _nanmean_by_id(ids: list[int], values: list[float], class_ids: np.ndarray) -> float:
    """``np.nanmean`` over an array indexed by id - 1, as the official evaluator averages."""
    if not values:
        return float("nan")
    if class_ids[0] >= 1 and class_ids[-1] < 1_000_000:
        array = np.full(int(class_ids[-1]), np.nan)
        array[np.array(ids) - 1] = values
    else:
        array = np.array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(array))
