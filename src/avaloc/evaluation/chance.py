"""The chance level of a set of predictions: the same boxes with the action scores shuffled.

A frame-mAP means little without it: with few boxes and frequent classes (AVA's "stand", the
synthetic set's "stand"/"watch"), a model that ranks at random scores well above 0 because AP
is bounded below by the class's prevalence among the boxes. Shuffling the scores over all rows
(every box, every class) keeps the boxes, their number and the score distribution and removes
what the model knows about which box does what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from avaloc.evaluation.frame_map import frame_map


def shuffled_score_map(
    gt_rows: pd.DataFrame,
    pred_rows: pd.DataFrame,
    label_map: Mapping[int, str],
    excluded: Iterable[tuple[str, int]] = (),
    *,
    repeats: int = 5,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and standard deviation over ``repeats`` shuffles of the frame-mAP of ``pred_rows``
    with its ``score`` column permuted."""
    excluded = list(excluded)
    rng = np.random.default_rng(seed)
    scores = pred_rows["score"].to_numpy(dtype=np.float64, copy=True)
    values = []
    for _ in range(repeats):
        shuffled = pred_rows.copy()
        shuffled["score"] = rng.permutation(scores)
        values.append(float(frame_map(gt_rows, shuffled, label_map, excluded=excluded).mAP))
    return float(np.mean(values)), float(np.std(values))
