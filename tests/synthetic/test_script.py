"""Scripts and motions: segments on the keyframe grid, facing partners, motion needing time."""

from __future__ import annotations

import numpy as np
import pytest

from avaloc.seeding import numpy_generator
from avaloc.synthetic import action_id
from avaloc.synthetic.figure import joints
from avaloc.synthetic.motions import Segment, pose_at
from avaloc.synthetic.script import FPS, ScriptConfig, sample_script

INTERACTIONS = {action_id(n) for n in ("talk", "listen", "shake", "hug", "push")}


@pytest.fixture(scope="module")
def scripts() -> list:
    return [sample_script(numpy_generator(7, i), 224, 168, 20, ScriptConfig()) for i in range(60)]


def test_segment_boundaries_lie_half_way_between_keyframes(scripts: list) -> None:
    for script in scripts:
        for track in script.tracks:
            for before, after in zip(track.segments, track.segments[1:]):
                assert before.stop == after.start
                assert after.start % FPS == FPS // 2
            assert track.start % FPS in (0, FPS // 2)


def test_interaction_partners_face_each_other(scripts: list) -> None:
    checked = 0
    for script in scripts:
        for track in script.tracks:
            for seg in track.segments:
                if not set(seg.labels) & INTERACTIONS:
                    continue
                frame = seg.start
                x = track.x[frame - track.start]
                partners = [
                    other
                    for other in script.tracks
                    if other is not track
                    and other.start <= frame < other.stop
                    and np.sign(other.x[frame - other.start] - x) == seg.facing
                    and other.segments[other.segment_index(frame)].facing == -seg.facing
                ]
                assert partners, (track.person_id, seg)
                checked += 1
    assert checked > 50


def _joint_track(segment: Segment, joint: str) -> np.ndarray:
    """A joint's position over the 2-second window around the segment's keyframe."""
    frames = range(segment.start, segment.stop)
    return np.array([joints(pose_at([segment], 0, f, FPS))[joint] for f in frames])


WAVE = Segment(0, 60, "stand", arms="wave", freq=2.0)
RAISED_ARM = Segment(0, 60, "stand", variant="raised_arm")
CLAP = Segment(0, 60, "stand", arms="clap", freq=1.3)
HANDS_TOGETHER = Segment(0, 60, "stand", variant="hands_together")
WALK = Segment(0, 60, "walk", freq=1.0)
STRIDE = Segment(0, 60, "stand", variant="stride")
JUMP = Segment(0, 60, "jump", freq=1.3)
ARMS_UP = Segment(0, 60, "stand", variant="arms_up")
TALK = Segment(0, 60, "stand", arms="talk")
LISTEN = Segment(0, 60, "stand", arms="listen", variant="gesture_still")


@pytest.mark.parametrize(
    ("moving", "still", "joint"),
    [
        (WAVE, RAISED_ARM, "hand0"),
        (CLAP, HANDS_TOGETHER, "hand0"),
        (WALK, STRIDE, "ankle0"),
        (JUMP, ARMS_UP, "hand0"),
        (TALK, LISTEN, "hand0"),
    ],
    ids=["wave", "clap", "walk", "jump", "talk"],
)
def test_motion_classes_move_where_their_static_look_alikes_do_not(
    moving: Segment, still: Segment, joint: str
) -> None:
    spread_moving = _joint_track(moving, joint).std(axis=0).max()
    spread_still = _joint_track(still, joint).std(axis=0).max()
    assert spread_moving > 0.02  # figure heights
    assert spread_still < 0.005
    # A single frame of the motion resembles its look-alike: some frame is close to it.
    still_pose = _joint_track(still, joint)[0]
    closest = np.abs(_joint_track(moving, joint) - still_pose).max(axis=1).min()
    assert closest < 0.06


def test_fall_ends_lying_and_starts_upright() -> None:
    fall = Segment(0, 30, "fall")
    head = _joint_track(fall, "head")
    ankle = _joint_track(fall, "ankle0")
    assert head[0][1] - ankle[0][1] > 0.8  # upright: head far above the ankle
    assert abs(head[-1][1] - ankle[-1][1]) < 0.15  # lying: head level with the ankle


def test_events_cut_short_by_the_video_end_still_render(scripts: list) -> None:
    """A pick-up or throw truncated by the end of the video (or a departure) draws fine."""
    from avaloc.synthetic.render import build_scene, render_frame

    found = 0
    for index, script in enumerate(scripts):
        short = [
            (track, seg)
            for track in script.tracks
            for seg in track.segments
            if seg.body in ("pick_up", "throw", "fall", "push") and seg.stop - seg.start < FPS
        ]
        if not short:
            continue
        scene = build_scene(numpy_generator(7, 1000 + index), script)
        for track, seg in short:
            for frame in (seg.start, seg.stop - 1):
                _, figures = render_frame(scene, frame, people={track.person_id})
                assert track.person_id in figures
            found += 1
    assert found >= 1
