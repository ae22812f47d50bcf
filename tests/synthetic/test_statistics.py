"""Long tail, co-occurrence and label structure, measured from the written CSVs of `default`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avaloc.formats import group_instances, read_ground_truth, read_label_map
from avaloc.synthetic import CLASSES, action_id

MOVEMENT_IDS = [action_id(n) for n in ("stand", "sit", "bend", "lie", "walk", "run", "jump")]
MOVEMENT_IDS += [action_id(n) for n in ("fall", "dance")]


@pytest.fixture(scope="module")
def default_rows(default_annotations: Path) -> pd.DataFrame:
    label_map = read_label_map(default_annotations / "annotations/label_map.pbtxt")
    frames = [
        read_ground_truth(default_annotations / f"annotations/{s}.csv", label_ids=label_map.ids)
        for s in ("train", "val")
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def multi_hot(default_rows: pd.DataFrame) -> np.ndarray:
    instances = group_instances(default_rows)
    return instances.multi_hot([c.action_id for c in CLASSES])


def _column(name: str) -> int:
    return action_id(name) - 1


def test_every_class_occurs_and_the_tail_is_long(multi_hot: np.ndarray) -> None:
    counts = multi_hot.sum(axis=0)
    assert counts.min() >= 5, "every class has examples"
    assert counts.max() >= 100 * counts.min()
    assert counts.argmax() == _column("stand")
    # A gradual tail, not two groups: many classes between the head and the rarest.
    between = (counts < counts.max() / 10) & (counts > counts.min() * 3)
    assert between.sum() >= 6


def test_each_instance_has_one_to_four_labels_and_exactly_one_movement(
    multi_hot: np.ndarray,
) -> None:
    per_instance = multi_hot.sum(axis=1)
    assert per_instance.min() >= 1 and per_instance.max() <= 4
    assert (per_instance == 4).any(), "AVA-like sets have some instances with 4 labels"
    movement = multi_hot[:, [i - 1 for i in MOVEMENT_IDS]].sum(axis=1)
    assert np.all(movement == 1), "pose/movement classes are mutually exclusive, like AVA's"


def _lift(multi_hot: np.ndarray, given: str, then: str) -> float:
    """P(then | given) / P(then)."""
    a, b = multi_hot[:, _column(given)], multi_hot[:, _column(then)]
    return (a & b).sum() / a.sum() / b.mean()


def test_ava_like_cooccurrence(multi_hot: np.ndarray) -> None:
    assert _lift(multi_hot, "walk", "carry") > 1.5
    assert _lift(multi_hot, "sit", "watch") > 1.3
    assert _lift(multi_hot, "listen", "watch") > 2.0
    assert _lift(multi_hot, "sit", "walk") == 0.0
    stand = multi_hot[:, _column("stand")]
    partners = {
        c.action_id
        for c in CLASSES
        if c.action_id != 1 and (stand & multi_hot[:, c.action_id - 1]).any()
    }
    assert len(partners) >= 10, "stand co-occurs with most classes"


def test_talk_to_has_a_listening_partner_in_the_same_keyframe(default_rows: pd.DataFrame) -> None:
    instances = group_instances(default_rows)
    talk, listen = action_id("talk"), action_id("listen")
    talkers = with_partner = 0
    for _, rows in instances.keyframe_slices():
        labels = [set(instances.labels_of(i).tolist()) for i in range(rows.start, rows.stop)]
        for k, own in enumerate(labels):
            if talk in own:
                talkers += 1
                with_partner += any(listen in o for j, o in enumerate(labels) if j != k)
    assert talkers > 100
    assert with_partner / talkers > 0.95
