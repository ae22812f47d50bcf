"""The data model: instances grouped from rows, counts, multi-hot, and the PETS ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avaloc.formats import (
    filter_keyframes,
    group_instances,
    instances_to_rows,
    read_ground_truth,
    summarize,
)


def rows_of(records):
    return pd.DataFrame(
        records, columns=["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"]
    )


ROWS = rows_of(
    [
        ("b", 3, 0.1, 0.1, 0.5, 0.5, 12, 0),
        ("a", 7, 0.2, 0.2, 0.6, 0.9, 80, 4),
        ("a", 7, 0.2, 0.2, 0.6, 0.9, 12, 4),
        ("a", 7, 0.2, 0.2, 0.6, 0.9, 12, 4),  # repeated label adds nothing
        ("a", 7, 0.0, 0.0, 0.3, 0.3, 17, 5),
        ("a", 2, 0.0, 0.0, 0.3, 0.3, 17, 5),
    ]
)


def test_group_instances_by_hand():
    instances = group_instances(ROWS)
    assert len(instances) == 4
    assert list(zip(instances.video_ids, instances.timestamps)) == [
        ("a", 2),
        ("a", 7),
        ("a", 7),
        ("b", 3),
    ]
    assert [instances.labels_of(i).tolist() for i in range(4)] == [[17], [17], [12, 80], [12]]
    assert instances.person_ids.tolist() == [5, 5, 4, 0]
    assert instances.class_counts() == {12: 2, 17: 2, 80: 1}
    assert instances.keyframe_keys() == [("a", 2), ("a", 7), ("b", 3)]
    slices = list(instances.keyframe_slices())
    assert [(key, s.start, s.stop) for key, s in slices] == [
        (("a", 2), 0, 1),
        (("a", 7), 1, 3),
        (("b", 3), 3, 4),
    ]


def test_by_keyframe_view():
    view = group_instances(ROWS).by_keyframe()
    assert set(view) == {("a", 2), ("a", 7), ("b", 3)}
    persons = {p.person_id: p for p in view[("a", 7)]}
    assert persons[4].labels == frozenset({12, 80})
    assert persons[4].box == (0.2, 0.2, 0.6, 0.9)


def test_multi_hot_ignores_labels_outside_classes():
    matrix = group_instances(ROWS).multi_hot([12, 17])
    assert matrix.tolist() == [[False, True], [False, True], [True, False], [True, False]]


def test_rows_round_trip():
    instances = group_instances(ROWS)
    again = group_instances(instances_to_rows(instances))
    for name in ("timestamps", "boxes", "person_ids", "label_indptr", "label_ids"):
        np.testing.assert_array_equal(getattr(again, name), getattr(instances, name))


def test_summary_counts():
    summary = summarize(ROWS)
    assert (summary.videos, summary.keyframes, summary.instances, summary.labels) == (2, 3, 4, 5)
    assert summary.labels_per_instance_histogram == {1: 3, 2: 1}
    assert summary.per_class == {12: 2, 17: 2, 80: 1}


def test_filter_keyframes_compares_integers():
    kept = filter_keyframes(ROWS, {("a", 7)})
    assert sorted(set(zip(kept["video_id"], kept["timestamp"]))) == [("a", 2), ("b", 3)]


def test_empty_rows():
    instances = group_instances(ROWS.iloc[:0])
    assert len(instances) == 0 and instances.class_counts() == {}


def test_pets_ground_truth_counts(video_dir):
    rows = read_ground_truth(video_dir / "pets2009_gt" / "persons_gt.csv")
    summary = summarize(rows)
    assert (summary.videos, summary.keyframes, summary.instances) == (1, 80, 467)
    per_keyframe = pd.Series(group_instances(rows).timestamps).value_counts()
    assert per_keyframe.min() == 2 and per_keyframe.max() == 8
