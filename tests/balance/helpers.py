"""Small hand-made Instances for the balance tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from avaloc.formats import Instances


def make_instances(label_sets: Sequence[Sequence[int]], video_id: str = "v") -> Instances:
    """One instance per label set (distinct, sorted labels), each at its own keyframe.

    Box of instance n: x1 = 0.1 + 0.001 * (n % 500), y1 = 0.2, width 0.3, height 0.7.
    """
    n = len(label_sets)
    label_lists = [sorted(set(int(a) for a in labels)) for labels in label_sets]
    sizes = np.array([len(labels) for labels in label_lists], dtype=np.int64)
    x1 = 0.1 + 0.001 * (np.arange(n) % 500)
    return Instances(
        video_ids=np.array([video_id] * n, dtype=object),
        timestamps=900 + np.arange(n, dtype=np.int64),
        boxes=np.stack([x1, np.full(n, 0.2), x1 + 0.3, np.full(n, 0.9)], axis=1).reshape(n, 4),
        person_ids=np.arange(n, dtype=np.int64),
        label_indptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        label_ids=np.array([a for labels in label_lists for a in labels], dtype=np.int64),
    )
