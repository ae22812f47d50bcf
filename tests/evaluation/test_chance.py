"""The shuffled-score chance level against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from avaloc.evaluation import frame_map, shuffled_score_map

LABELS = {1: "a", 2: "b"}


def _rows(entries):
    return pd.DataFrame(
        entries, columns=["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "score"]
    )


def test_constant_scores_give_the_model_its_own_map_and_perfect_ranking_is_above_chance():
    box = [0.1, 0.1, 0.4, 0.9]
    other = [0.5, 0.1, 0.9, 0.9]
    gt = _rows([["v", 902, *box, 1, 1.0], ["v", 902, *other, 2, 1.0]])
    perfect = _rows(
        [
            ["v", 902, *box, 1, 0.9],
            ["v", 902, *box, 2, 0.1],
            ["v", 902, *other, 1, 0.2],
            ["v", 902, *other, 2, 0.8],
        ]
    )
    assert frame_map(gt, perfect, LABELS).mAP == pytest.approx(1.0)
    mean, std = shuffled_score_map(gt, perfect, LABELS, repeats=200)
    # A random order of the two boxes of a class: AP 1 (true box first) or 0.5, each half the
    # time, so chance is 0.75 in expectation.
    assert mean == pytest.approx(0.75, abs=0.05)
    assert std > 0
    constant = perfect.assign(score=0.5)
    assert shuffled_score_map(gt, constant, LABELS, repeats=3)[1] == 0.0


def test_no_predictions_give_zero_chance():
    gt = _rows([["v", 902, 0.1, 0.1, 0.4, 0.9, 1, 1.0]])
    assert shuffled_score_map(gt, _rows([]), LABELS, repeats=2) == (0.0, 0.0)
