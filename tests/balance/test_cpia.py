"""CP-IA: the replication rules on hand-made counts, full label sets on copies, jittered boxes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avaloc.balance import (
    cooccurrence_matrix,
    cpia_repeats,
    cpia_sample_instances,
    cpia_samples,
    jitter_box,
    jitter_boxes,
)
from avaloc.seeding import numpy_generator, torch_generator
from balance.helpers import make_instances

CLASSES = [1, 2, 3, 4, 5, 6]


def test_greedy_lifts_rare_class_to_target_by_water_filling():
    # class 1: 2 instances (rare), class 2: 10 instances, target 6 -> 4 copies, 2 per instance
    instances = make_instances([[1, 2], [1]] + [[2]] * 9)
    repeats = cpia_repeats(instances, [1, 2], target=6, max_repeat=5)
    np.testing.assert_array_equal(repeats, [2, 2] + [0] * 9)


def test_greedy_counts_copies_made_for_rarer_classes():
    # class 1 (1 instance, with class 2) is copied 3 times for target 4; those copies already
    # bring class 2 (2 instances) to 5 >= 4, so class 2 gets no copies of its own.
    instances = make_instances([[1, 2], [2]] + [[3]] * 10)
    repeats = cpia_repeats(instances, [1, 2, 3], target=4, max_repeat=10)
    np.testing.assert_array_equal(repeats, [3] + [0] * 11)
    rarest = cpia_repeats(instances, [1, 2, 3], target=4, max_repeat=10, rule="rarest")
    # the rarest-class rule ignores that: instance 1 (class 2, count 2) gets ceil(4/2)-1 = 1
    np.testing.assert_array_equal(rarest, [3, 1] + [0] * 10)


def test_greedy_splits_a_partial_level_evenly():
    # class 1 has 4 instances, target 6 -> 2 extra copies on 2 of the 4, one at the centre of
    # each half (positions floor((i + 0.5) * 4 / 2) = 1, 3)
    instances = make_instances([[1]] * 4 + [[2]] * 20)
    repeats = cpia_repeats(instances, [1, 2], target=6, max_repeat=3)
    np.testing.assert_array_equal(repeats[:4], [0, 1, 0, 1])
    assert repeats[4:].sum() == 0


def test_max_repeat_caps_copies():
    instances = make_instances([[1]] + [[2]] * 100)
    for rule in ("greedy", "rarest"):
        repeats = cpia_repeats(instances, [1, 2], target=1000, max_repeat=7, rule=rule)
        assert repeats[0] == 7
        assert repeats.max() == 7
    assert cpia_repeats(instances, [1, 2], target=1000, max_repeat=0).sum() == 0


def test_bad_arguments_raise():
    instances = make_instances([[1]])
    with pytest.raises(ValueError, match="target"):
        cpia_repeats(instances, [1], target=0, max_repeat=3)
    with pytest.raises(ValueError, match="rule"):
        cpia_repeats(instances, [1], target=5, max_repeat=3, rule="uniform")


def test_every_copy_carries_its_full_label_set():
    instances = make_instances([[1, 2, 5], [1], [2, 3], [3, 4, 6], [2]] + [[2, 3]] * 30)
    repeats = cpia_repeats(instances, CLASSES, target=10, max_repeat=4)
    assert repeats.sum() > 0
    copies = cpia_samples(instances, repeats)
    source = cpia_sample_instances(repeats)
    assert len(copies) == repeats.sum() == len(source)
    for row, n in enumerate(source):
        np.testing.assert_array_equal(copies.labels_of(row), instances.labels_of(n))
        np.testing.assert_array_equal(copies.boxes[row], instances.boxes[n])
        assert copies.video_ids[row] == instances.video_ids[n]
        assert copies.timestamps[row] == instances.timestamps[n]
    # the weighted COM of the epoch equals the COM of originals + materialised copies
    both = cooccurrence_matrix(instances, CLASSES) + cooccurrence_matrix(copies, CLASSES)
    np.testing.assert_array_equal(
        both, cooccurrence_matrix(instances, CLASSES, weights=1 + repeats)
    )


label_sets_strategy = st.lists(
    st.sets(st.integers(min_value=1, max_value=6), min_size=1, max_size=4), min_size=1, max_size=60
)


@settings(max_examples=80, deadline=None)
@given(
    label_sets=label_sets_strategy,
    target=st.integers(1, 80),
    max_repeat=st.integers(0, 6),
    rule=st.sampled_from(["greedy", "rarest"]),
)
def test_cpia_never_lowers_a_class_count(label_sets, target, max_repeat, rule):
    instances = make_instances(label_sets)
    repeats = cpia_repeats(instances, CLASSES, target, max_repeat, rule=rule)
    assert repeats.min() >= 0 and repeats.max() <= max_repeat
    before = np.diag(cooccurrence_matrix(instances, CLASSES))
    after = np.diag(cooccurrence_matrix(instances, CLASSES, weights=1 + repeats))
    assert (after >= before).all()
    if rule == "greedy":
        # every class ends at the target, or with all its instances at max_repeat copies
        reachable = np.minimum(target, before * (1 + max_repeat))
        assert (after >= reachable).all()


def _inside_and_valid(boxes):
    assert (boxes >= 0).all() and (boxes <= 1).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


box_strategy = st.tuples(
    st.floats(0, 0.999), st.floats(0, 0.999), st.floats(0.0005, 1), st.floats(0.0005, 1)
).map(lambda v: (v[0], v[1], min(1.0, v[0] + v[2]), min(1.0, v[1] + v[3])))


@settings(max_examples=200, deadline=None)
@given(
    box=box_strategy.filter(lambda b: b[2] > b[0] and b[3] > b[1]),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0, 0.9),
    shift=st.floats(0, 1),
)
def test_jittered_boxes_stay_inside_and_non_degenerate(box, seed, scale, shift):
    jittered = jitter_boxes(np.tile(box, (16, 1)), torch_generator(seed), scale=scale, shift=shift)
    _inside_and_valid(jittered)


def test_jitter_follows_scale_and_shift_bounds():
    box = np.array([0.3, 0.3, 0.5, 0.7])  # far from the borders: no clipping
    jittered = jitter_boxes(np.tile(box, (5000, 1)), numpy_generator(0, 1), scale=0.1, shift=0.1)
    width = jittered[:, 2] - jittered[:, 0]
    height = jittered[:, 3] - jittered[:, 1]
    assert width.min() >= 0.2 * 0.9 - 1e-12 and width.max() <= 0.2 * 1.1 + 1e-12
    assert height.min() >= 0.4 * 0.9 - 1e-12 and height.max() <= 0.4 * 1.1 + 1e-12
    centre_x = (jittered[:, 0] + jittered[:, 2]) / 2
    assert np.abs(centre_x - 0.4).max() <= 0.1 * 0.2 + 1e-12
    # both directions are drawn (uniform draws span most of the range)
    assert width.min() < 0.2 * 0.92 and width.max() > 0.2 * 1.08
    _inside_and_valid(jittered)


def test_jitter_is_fresh_per_draw_and_reproducible_per_seed():
    box = (0.1, 0.2, 0.6, 0.9)
    generator = torch_generator(3, 0)
    first, second = jitter_box(box, generator), jitter_box(box, generator)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(jitter_box(box, torch_generator(3, 0)), first)
    np.testing.assert_allclose(jitter_box(box, generator, scale=0, shift=0), box, atol=1e-12)


def test_jitter_of_a_full_frame_box_is_clipped_not_degenerate():
    jittered = jitter_boxes(np.tile([0.0, 0.0, 1.0, 1.0], (1000, 1)), numpy_generator(1))
    _inside_and_valid(jittered)
    assert (jittered[:, 2] - jittered[:, 0]).min() >= 0.85
