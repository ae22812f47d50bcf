"""The co-occurrence matrix: a hand-computed example, two implementations, invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from avaloc.balance import cooccurrence_matrix, label_columns
from avaloc.balance.cooccurrence import cooccurrence_matrix_matmul
from balance.helpers import make_instances

label_sets_strategy = st.lists(
    st.sets(st.integers(min_value=1, max_value=7), min_size=1, max_size=5), min_size=1, max_size=40
)


def test_hand_computed_com():
    # instances: {1,2}, {2,3}, {1,2,3}, {4}, {2, 9}; class 9 is not counted
    instances = make_instances([[1, 2], [2, 3], [1, 2, 3], [4], [2, 9]])
    expected = np.array(
        [
            # 1  2  3  4
            [2, 2, 1, 0],  # 1: in instances 0, 2
            [2, 4, 2, 0],  # 2: in instances 0, 1, 2, 4
            [1, 2, 2, 0],  # 3: in instances 1, 2
            [0, 0, 0, 1],  # 4: in instance 3
        ]
    )
    com = cooccurrence_matrix(instances, [1, 2, 3, 4])
    assert com.dtype == np.int64
    np.testing.assert_array_equal(com, expected)


def test_weighted_com_counts_copies():
    instances = make_instances([[1, 2], [2, 3], [1, 2, 3], [4]])
    # instance 0 twice more, instance 3 once more
    com = cooccurrence_matrix(instances, [1, 2, 3, 4], weights=np.array([3, 1, 1, 2]))
    expected = np.array(
        [
            [4, 4, 1, 0],
            [4, 5, 2, 0],
            [1, 2, 2, 0],
            [0, 0, 0, 2],
        ]
    )
    np.testing.assert_array_equal(com, expected)


def test_class_order_follows_class_ids():
    instances = make_instances([[1, 2], [2]])
    np.testing.assert_array_equal(cooccurrence_matrix(instances, [2, 1]), [[2, 1], [1, 1]])


def test_label_columns_marks_unknown_labels():
    instances = make_instances([[3, 80], [5]])
    np.testing.assert_array_equal(label_columns(instances, [80, 5]), [-1, 0, 1])


def test_empty_instances_give_zero_matrix():
    instances = make_instances([])
    np.testing.assert_array_equal(cooccurrence_matrix(instances, [1, 2]), np.zeros((2, 2)))


@settings(max_examples=60, deadline=None)
@given(label_sets=label_sets_strategy, data=st.data())
def test_com_matches_dense_product_and_brute_force(label_sets, data):
    instances = make_instances(label_sets)
    weights = np.array(
        data.draw(st.lists(st.integers(0, 4), min_size=len(instances), max_size=len(instances)))
    )
    class_ids = [1, 2, 3, 4, 5, 6, 7]
    com = cooccurrence_matrix(instances, class_ids, weights=weights)
    np.testing.assert_array_equal(
        com, cooccurrence_matrix_matmul(instances, class_ids, weights=weights)
    )
    brute = np.zeros((7, 7), dtype=np.int64)
    for n in range(len(instances)):
        labels = instances.labels_of(n)
        for a in labels:
            for b in labels:
                brute[a - 1, b - 1] += weights[n]
    np.testing.assert_array_equal(com, brute)


@settings(max_examples=60, deadline=None)
@given(label_sets=label_sets_strategy)
def test_com_symmetric_with_dominant_diagonal(label_sets):
    instances = make_instances(label_sets)
    com = cooccurrence_matrix(instances, list(range(1, 8)))
    np.testing.assert_array_equal(com, com.T)
    assert (np.diag(com)[:, None] >= com).all()
    counts = instances.class_counts()
    np.testing.assert_array_equal(np.diag(com), [counts.get(c, 0) for c in range(1, 8)])
