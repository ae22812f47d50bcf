"""The keyframe tracker: identities persist under motion, new people get new ids."""

from __future__ import annotations

import numpy as np

from avaloc.pipeline.tracking import IouTracker


def test_two_walkers_keep_their_ids():
    tracker = IouTracker()
    left = np.array([0.0, 0.0, 10.0, 30.0])
    right = np.array([50.0, 0.0, 60.0, 30.0])
    shift = np.array([3.0, 0.0, 3.0, 0.0])
    ids = [tracker.update(np.stack([left + s * shift, right - s * shift])) for s in range(4)]
    assert [i.tolist() for i in ids] == [[1, 2]] * 4


def test_order_of_boxes_does_not_matter_and_newcomer_gets_new_id():
    tracker = IouTracker()
    a, b = np.array([0.0, 0, 10, 30]), np.array([50.0, 0, 60, 30])
    tracker.update(np.stack([a, b]))
    c = np.array([100.0, 0, 110, 30])
    assert tracker.update(np.stack([c, b, a])).tolist() == [3, 2, 1]


def test_fast_mover_matched_by_distance_and_old_tracks_expire():
    tracker = IouTracker(max_age=1)
    tracker.update(np.array([[0.0, 0, 10, 30]]))
    # moved by 12 px: no overlap, but within 0.75 of the 31.6 px diagonal
    assert tracker.update(np.array([[12.0, 0, 22, 30]])).tolist() == [1]
    tracker.update(np.zeros((0, 4)))
    tracker.update(np.zeros((0, 4)))
    assert tracker.update(np.array([[12.0, 0, 22, 30]])).tolist() == [2]
