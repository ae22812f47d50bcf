"""Correlation-Preserving Instance Augmentation (CP-IA): extra copies of rare-class instances.

An extra sample is a copy of one person instance: the instance's own keyframe clip with only
that instance's box labelled, carrying the instance's FULL label set (so the classes that
co-occur with a rare class are copied with it, which preserves the co-occurrence structure),
and with a fresh spatial jitter of its box every time it is loaded.

Replication rule ("greedy", the default) -- why: repeating each instance by its rarest class
alone ignores that a copy also raises every other class it carries, so classes that co-occur
with several rare classes overshoot. The greedy rule visits classes from the currently rarest
up; for a class below ``target`` it adds the missing copies by *water-filling* over the
class's instances (those with the fewest copies so far get one more first; ties are broken by
evenly spaced positions, so no video or keyframe is favoured), never beyond ``max_repeat``
extra copies of one instance. The counts it sees include the copies already made for rarer
classes, so every copy counts for all of its labels. Spreading copies evenly over a class's
instances keeps that class's own conditional row P(j | i) unchanged in expectation; ``max_repeat``
bounds how often one clip is seen (over-fitting to a few clips is the cost of over-sampling).
Classes at or above ``target`` get no copies of their own, only incidental ones.

The "rarest" rule (kept for comparison) gives instance n ``ceil(target / c_min(n)) - 1`` extra
copies, capped by ``max_repeat``, where ``c_min(n)`` is the count of its rarest class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from avaloc.balance.cooccurrence import label_columns
from avaloc.formats import Instances


def cpia_repeats(
    instances: Instances,
    class_ids: Sequence[int],
    target: int,
    max_repeat: int,
    *,
    rule: str = "greedy",
) -> np.ndarray:
    """(N,) int64: the number of EXTRA copies of each instance (0 = not augmented)."""
    if target < 1:
        raise ValueError(f"target must be >= 1, got {target}")
    if max_repeat < 0:
        raise ValueError(f"max_repeat must be >= 0, got {max_repeat}")
    if rule == "greedy":
        return _greedy_repeats(instances, class_ids, target, max_repeat)
    if rule == "rarest":
        return _rarest_class_repeats(instances, class_ids, target, max_repeat)
    raise ValueError(f"unknown CP-IA rule {rule!r} (use 'greedy' or 'rarest')")


def _rarest_class_repeats(
    instances: Instances, class_ids: Sequence[int], target: int, max_repeat: int
) -> np.ndarray:
    columns = label_columns(instances, class_ids)
    owner = instances.instance_of_label()
    keep = columns >= 0
    counts = np.bincount(columns[keep], minlength=len(class_ids))
    rarest = np.full(len(instances), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(rarest, owner[keep], counts[columns[keep]])
    has_label = rarest < np.iinfo(np.int64).max
    repeats = np.zeros(len(instances), dtype=np.int64)
    wanted = -(-target // rarest[has_label]) - 1  # ceil(target / c) - 1
    repeats[has_label] = np.clip(wanted, 0, max_repeat)
    return repeats


def _evenly_spaced(candidates: np.ndarray, how_many: int) -> np.ndarray:
    positions = ((np.arange(how_many) + 0.5) * len(candidates) / how_many).astype(np.int64)
    return candidates[positions]


def _greedy_repeats(
    instances: Instances, class_ids: Sequence[int], target: int, max_repeat: int
) -> np.ndarray:
    columns = label_columns(instances, class_ids)
    owner = instances.instance_of_label()
    keep = columns >= 0
    columns, owner = columns[keep], owner[keep]
    order = np.argsort(columns, kind="stable")
    bounds = np.searchsorted(columns[order], np.arange(len(class_ids) + 1))
    current = np.bincount(columns, minlength=len(class_ids)).astype(np.int64)
    repeats = np.zeros(len(instances), dtype=np.int64)
    done = current == 0
    while max_repeat > 0:
        open_classes = np.flatnonzero(~done & (current < target))
        if open_classes.size == 0:
            break
        k = open_classes[np.argmin(current[open_classes])]
        done[k] = True
        members = owner[order[bounds[k] : bounds[k + 1]]]
        added = _water_fill(repeats[members], int(target - current[k]), max_repeat)
        if added.any():
            delta = np.zeros(len(instances), dtype=np.int64)
            delta[members] = added
            repeats += delta
            current += np.rint(
                np.bincount(columns, weights=delta[owner], minlength=len(class_ids))
            ).astype(np.int64)
    return repeats


def _water_fill(levels: np.ndarray, deficit: int, max_repeat: int) -> np.ndarray:
    """Extra copies per member, raising the lowest levels first, summing to <= ``deficit``."""
    histogram = np.bincount(levels, minlength=max_repeat + 1)[: max_repeat + 1]
    below = np.cumsum(histogram)  # members with level <= L
    weighted_below = np.cumsum(histogram * np.arange(max_repeat + 1))
    # cost(L) = copies needed to lift every member below L up to L
    cost = np.concatenate([[0], np.arange(1, max_repeat + 1) * below[:-1] - weighted_below[:-1]])
    level = int(np.searchsorted(cost, deficit, side="right") - 1)
    added = np.maximum(level - levels, 0)
    remaining = deficit - int(added.sum())
    if remaining > 0 and level < max_repeat:
        at_level = np.flatnonzero(levels + added == level)
        chosen = _evenly_spaced(at_level, min(remaining, at_level.size))
        added[chosen] += 1
    return added


def cpia_sample_instances(repeats: np.ndarray) -> np.ndarray:
    """Instance index of each extra CP-IA sample (instance n appears ``repeats[n]`` times)."""
    return np.repeat(np.arange(len(repeats)), repeats)


def cpia_samples(instances: Instances, repeats: np.ndarray) -> Instances:
    """The extra CP-IA samples as their own :class:`Instances`, one row per copy: the source
    instance's keyframe, box (un-jittered: the jitter is drawn at load time), person id and FULL
    label set. ``cpia_sample_instances(repeats)`` gives the source index of each row."""
    repeats = np.asarray(repeats, dtype=np.int64)
    if repeats.shape != (len(instances),) or (repeats < 0).any():
        raise ValueError(f"repeats must be (N,) = ({len(instances)},) non-negative integers")
    source = cpia_sample_instances(repeats)
    sizes = instances.label_counts_per_instance()[source]
    starts = instances.label_indptr[source]
    entries = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
    return Instances(
        video_ids=instances.video_ids[source],
        timestamps=instances.timestamps[source],
        boxes=instances.boxes[source],
        person_ids=instances.person_ids[source],
        label_indptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        label_ids=instances.label_ids[entries],
    )


def _uniform(generator: torch.Generator | np.random.Generator, shape: tuple[int, ...]):
    if isinstance(generator, np.random.Generator):
        return generator.random(shape)
    return torch.rand(shape, generator=generator, dtype=torch.float64).numpy()


def jitter_boxes(
    boxes: np.ndarray,
    generator: torch.Generator | np.random.Generator,
    *,
    scale: float = 0.1,
    shift: float = 0.1,
    min_size: float = 1e-3,
) -> np.ndarray:
    """Randomly rescale and shift normalized (M, 4) x1 y1 x2 y2 boxes, clipped to [0, 1].

    Width and height are multiplied by factors from ``[1 - scale, 1 + scale]``; the centre moves
    by up to ``shift`` times the box size. An axis whose jittered extent after clipping is
    shorter than ``min(min_size, original extent)`` keeps its original coordinates, so a valid
    box never becomes degenerate.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    draws = _uniform(generator, (len(boxes), 4))
    size = boxes[:, 2:] - boxes[:, :2]
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 + (2 * draws[:, 2:] - 1) * shift * size
    new_size = size * (1 + (2 * draws[:, :2] - 1) * scale)
    low = np.clip(centre - new_size / 2, 0.0, 1.0)
    high = np.clip(centre + new_size / 2, 0.0, 1.0)
    degenerate = high - low < np.minimum(min_size, size)
    low = np.where(degenerate, boxes[:, :2], low)
    high = np.where(degenerate, boxes[:, 2:], high)
    return np.concatenate([low, high], axis=1)


def jitter_box(
    box: Sequence[float] | np.ndarray,
    generator: torch.Generator | np.random.Generator,
    *,
    scale: float = 0.1,
    shift: float = 0.1,
    min_size: float = 1e-3,
) -> np.ndarray:
    """One box's jitter (see :func:`jitter_boxes`): a fresh draw each time a copy is loaded."""
    return jitter_boxes(
        np.asarray(box, dtype=np.float64)[None],
        generator,
        scale=scale,
        shift=shift,
        min_size=min_size,
    )[0]
