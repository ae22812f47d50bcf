"""What each action looks like over time: joint angles and root velocity per segment.

A person's timeline is a list of :class:`Segment` s. A segment has a body motion (``stand``,
``walk``, ``fall``, ...) and an arm overlay (``wave``, ``carry``, ``talk``, ...), a frequency and a
phase. :func:`pose_at` gives the joint angles at ``s`` seconds into a segment; :func:`velocity`
the root speed in figure heights per second. Static look-alikes (``variant``) make single frames
ambiguous on purpose: a standing figure may hold a raised arm (a still wave), hands together (a
still clap), a stride stance (a still walk) or both arms up (a still jump).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from avaloc.synthetic.figure import Pose, blend_poses

TAU = 2.0 * math.pi
EVENT_BODIES = ("fall", "pick_up", "throw", "push", "pushed")
FPS_GRID = 30  # frames per keyframe interval
BLEND_SECONDS = 0.25  # joint angles ease from the previous segment over this time


@dataclass(frozen=True)
class Segment:
    """One stretch of constant activity of one person: frames ``[start, stop)``."""

    start: int
    stop: int
    body: str
    arms: str = "none"
    variant: str = "neutral"
    facing: int = 1
    freq: float = 1.0
    phase: float = 0.0
    labels: tuple[int, ...] = ()

    def contains(self, frame: int) -> bool:
        return self.start <= frame < self.stop

    @property
    def clock_start(self) -> int:
        """The frame where the segment's clock starts: events run over the segment's last second
        (1 s events are centred on their keyframe), everything else from the segment start."""
        return max(self.start, self.stop - FPS_GRID) if self.body in EVENT_BODIES else self.start


def _ramp(x: float) -> float:
    """0 below 0, 1 above 1, smooth in between."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _carry(pose: Pose) -> None:
    pose.arm_upper = [0.55, 0.6]
    pose.arm_lower = [1.05, 1.0]


def _body(seg: Segment, s: float) -> Pose:
    pose = Pose()
    phi = TAU * seg.freq * s + seg.phase
    pose.torso += 0.015 * math.sin(TAU * 0.3 * s + seg.phase)
    body = seg.body
    if body == "stand" or body in ("shake", "hug"):
        if seg.variant == "stride":
            pose.leg_upper = [0.34, -0.3]
            pose.leg_lower = [0.05, 0.3]
            pose.arm_upper = [-0.2, 0.22]
        elif seg.variant == "raised_arm":
            pose.arm_upper[0], pose.arm_lower[0] = 2.6, 0.45
        elif seg.variant == "hands_together":
            pose.arm_upper = [1.0, 1.0]
            pose.arm_lower = [1.05, 1.05]
        elif seg.variant == "arms_up":
            pose.arm_upper = [2.5, 2.4]
            pose.arm_lower = [0.3, 0.3]
        if body == "shake":
            reach = _ramp(s / 0.2) * _ramp(((seg.stop - seg.start) / FPS_GRID - s) / 0.2)
            pump = 0.14 * math.sin(TAU * 2.5 * s) * reach
            pose.arm_upper[0] = 0.12 + (1.2 - 0.12) * reach + pump
            pose.arm_lower[0] = 0.25
        elif body == "hug":
            # Partners stand 0.62 heights apart: each leans 0.2 in, arms around the other.
            remaining = (seg.stop - seg.start) / FPS_GRID - s
            close = _ramp(s / 0.3) * _ramp(remaining / 0.3)
            pose.sway = 0.2 * close
            pose.torso = 0.05 + 0.15 * close
            pose.arm_upper = [0.12 + 1.2 * close, 0.1 + 1.15 * close]
            pose.arm_lower = [0.15 + 0.45 * close, 0.1 + 0.5 * close]
            pose.head = 0.25 * close
    elif body == "sit":
        pose.leg_upper = [1.5, 1.42]
        pose.leg_lower = [1.5, 1.42]
        pose.arm_upper = [0.35, 0.3]
        pose.arm_lower = [1.0, 0.95]
        if seg.variant == "raised_arm":
            pose.arm_upper[0], pose.arm_lower[0] = 2.6, 0.45
    elif body == "bend":
        pose.torso = 1.15 + 0.1 * math.sin(seg.phase)
        pose.arm_upper = [-pose.torso + 0.25, -pose.torso + 0.1]
        pose.arm_lower = [0.2, 0.15]
    elif body == "lie":
        pose.rotation = math.pi / 2
        pose.arm_upper = [0.15, 0.1]
        pose.arm_lower = [0.1, 0.1]
        pose.leg_upper = [0.0, 0.05]
        pose.leg_lower = [0.0, 0.1]
        pose.torso = 0.0
    elif body in ("walk", "run"):
        amp, knee, arm_amp, elbow = (
            (0.42, 0.55, 0.3, 0.3) if body == "walk" else (0.7, 1.1, 0.8, 1.6)
        )
        pose.torso = 0.04 if body == "walk" else 0.25
        sin, cos = math.sin(phi), math.cos(phi)
        pose.leg_upper = [amp * sin, -amp * sin]
        pose.leg_lower = [0.1 + knee * max(0.0, cos), 0.1 + knee * max(0.0, -cos)]
        pose.arm_upper = [-arm_amp * sin, arm_amp * sin]
        pose.arm_lower = [elbow, elbow]
        if body == "run":
            pose.lift = 0.04 * abs(math.sin(2 * phi))
    elif body == "jump":
        u = (seg.freq * s + seg.phase / TAU) % 1.0
        air = math.sin(math.pi * (u - 0.3) / 0.6) if 0.3 <= u < 0.9 else 0.0
        crouch = math.sin(math.pi * u / 0.3) if u < 0.3 else 0.0
        pose.lift = 0.3 * air
        pose.torso = 0.35 * crouch
        pose.leg_upper = [0.7 * crouch + 0.3 * air, 0.65 * crouch + 0.25 * air]
        pose.leg_lower = [1.3 * crouch + 0.6 * air, 1.25 * crouch + 0.5 * air]
        pose.arm_upper = [2.4 * air - 0.5 * crouch, 2.3 * air - 0.5 * crouch]
        pose.arm_lower = [0.3, 0.3]
    elif body == "dance":
        sin = math.sin(phi)
        pose.sway = 0.07 * sin
        pose.torso = 0.14 * sin
        pose.head = 0.2 * math.sin(phi + 1.0)
        pose.leg_upper = [0.45 * max(0.0, sin), -0.1 - 0.35 * max(0.0, -sin)]
        pose.leg_lower = [0.9 * max(0.0, sin), 0.8 * max(0.0, -sin)]
        pose.arm_upper = [2.2 + 0.7 * math.sin(2 * phi), 2.2 - 0.7 * math.sin(2 * phi)]
        pose.arm_lower = [0.6 + 0.5 * sin, 0.6 - 0.5 * sin]
    elif body == "fall":
        u = _ramp((s - 0.08) / 0.75) ** 1.5
        pose.rotation = (math.pi / 2) * u
        pose.arm_upper = [0.15 + 1.9 * u, 0.1 + 1.8 * u]
        pose.leg_lower = [0.3 * math.sin(math.pi * u)] * 2
    elif body == "pick_up":
        depth = math.sin(math.pi * _ramp((s - 0.1) / 0.8))
        pose.torso = 1.3 * depth
        pose.leg_upper = [0.35 * depth, 0.3 * depth]
        pose.leg_lower = [0.6 * depth, 0.55 * depth]
        reach = [-pose.torso + 0.35, -pose.torso + 0.3]
        held = _ramp((s - 0.5) / 0.35)
        pose.arm_upper = [(1 - held) * r + held * c for r, c in zip(reach, (0.55, 0.6))]
        pose.arm_lower = [0.2 + 0.85 * held, 0.2 + 0.8 * held]
    elif body == "throw":
        _carry(pose)
        wind = _ramp(s / 0.42)
        swing = _ramp((s - 0.45) / 0.18)
        after = _ramp((s - 0.7) / 0.25)
        pose.arm_upper[0] = 0.55 + 2.9 * wind - 2.3 * swing - 0.6 * after
        pose.arm_lower[0] = 1.0 - 0.7 * swing + 0.2 * after
        pose.arm_upper[1] = 0.6 - 0.45 * wind
        pose.arm_lower[1] = 1.0 - 0.8 * wind
        pose.torso = -0.18 * wind + 0.42 * swing - 0.3 * after
        pose.leg_upper = [0.25 * wind, -0.2 * wind]
    elif body == "push":
        cock = _ramp(s / 0.3)
        thrust = _ramp((s - 0.35) / 0.18)
        back = _ramp((s - 0.75) / 0.2)
        pose.arm_upper = [0.12 + 0.9 * cock + 0.5 * thrust - 1.3 * back] * 2
        pose.arm_lower = [0.15 + 1.4 * cock - 1.45 * thrust + 0.1 * back] * 2
        pose.torso = 0.05 + 0.25 * thrust - 0.25 * back
        pose.leg_upper = [0.3 * thrust - 0.3 * back, -0.25 * thrust + 0.25 * back]
    elif body == "pushed":
        hit = math.sin(math.pi * _ramp((s - 0.5) / 0.45))
        pose.torso = -0.4 * hit
        pose.arm_upper = [0.1 + 1.6 * hit, 0.1 + 1.4 * hit]
        pose.leg_upper = [0.35 * hit, -0.15 * hit]
    return pose


def _arms(pose: Pose, seg: Segment, s: float) -> None:
    phi = TAU * seg.freq * s + seg.phase
    if seg.arms.startswith("carry_"):
        # Holding a box while talking or listening: head and mouth move, the arms hold.
        _carry(pose)
        if seg.arms == "carry_talk":
            pose.head = 0.12 * math.sin(TAU * 2.1 * s + seg.phase)
            pose.mouth = max(0.0, math.sin(TAU * 3.3 * s + 2 * seg.phase))
        else:
            pose.head = 0.08 + 0.05 * math.sin(TAU * 0.5 * s + seg.phase)
    elif seg.arms == "wave":
        pose.arm_upper[0] = 2.55
        pose.arm_lower[0] = 0.5 + 0.55 * math.sin(phi)
    elif seg.arms == "clap":
        apart = abs(math.sin(phi))
        pose.arm_upper = [1.0 + 0.3 * apart, 1.0 - 0.3 * apart]
        pose.arm_lower = [1.05 + 0.6 * apart, 1.05 - 0.6 * apart]
    elif seg.arms == "carry":
        _carry(pose)
    elif seg.arms == "talk":
        pose.head = 0.12 * math.sin(TAU * 2.1 * s + seg.phase)
        pose.mouth = max(0.0, math.sin(TAU * 3.3 * s + 2 * seg.phase))
        pose.arm_upper[0] = 0.6 + 0.35 * math.sin(TAU * 0.8 * s + seg.phase)
        pose.arm_lower[0] = 1.3 + 0.5 * math.sin(TAU * 1.6 * s + 2 * seg.phase)
    elif seg.arms == "listen":
        pose.head = 0.08 + 0.05 * math.sin(TAU * 0.5 * s + seg.phase)
        if seg.variant == "gesture_still":
            # A listener's hand raised to the chin: a still frame of a talker's gesture.
            pose.arm_upper[0], pose.arm_lower[0] = 0.6, 1.3


def raw_pose(seg: Segment, s: float) -> Pose:
    """The pose of a segment ``s`` seconds after its start, ignoring the previous segment."""
    pose = _body(seg, s)
    if seg.body in ("stand", "sit", "walk", "bend"):
        _arms(pose, seg, s)
    return pose


def pose_at(segments: list[Segment], index: int, frame: int, fps: float) -> Pose:
    """The pose at ``frame`` in ``segments[index]``, eased in from the previous segment."""
    seg = segments[index]
    pose = raw_pose(seg, (frame - seg.clock_start) / fps)
    since_start = (frame - seg.start) / fps
    if index > 0 and since_start < BLEND_SECONDS:
        prev = segments[index - 1]
        before = raw_pose(prev, (seg.start - prev.clock_start) / fps)
        pose = blend_poses(before, pose, _ramp(since_start / BLEND_SECONDS))
    return pose


def velocity(seg: Segment, s: float) -> float:
    """Root speed along x in figure heights per second (signed, + = right)."""
    if seg.body == "walk":
        return seg.facing * 0.7 * seg.freq
    if seg.body == "run":
        return seg.facing * 1.0 * seg.freq
    if seg.body == "pushed" and 0.5 <= s < 0.85:
        return -seg.facing * 1.0
    return 0.0
