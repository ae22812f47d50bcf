"""The script of one video: who is where, doing what, when (no pixels yet).

A video is a set of person :class:`Track` s. Each track is made of :class:`Segment` s whose
boundaries lie half-way between keyframes (frame ``30 t + 15``), so each keyframe ``t`` falls in
exactly one segment and its labels hold for the central second of the 2-second window around
``t`` (and for at least 1.5 s of it; sustained segments last >= 2 s, events last 1 s and are
centred on their keyframe).

Roles give AVA-like co-occurrence: *pairs* face each other and converse (talk to on one side,
listen to + watch on the other), rarely shake hands, hug or push; *sitters* sit on chairs and
watch a performer; *performers* dance, jump, wave or clap; *wanderers* walk, run, carry, pick
up, throw, bend, fall, and enter or leave the frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from avaloc.synthetic import motions
from avaloc.synthetic.figure import Appearance
from avaloc.synthetic.motions import Segment
from avaloc.synthetic.vocabulary import action_id

FPS = 30


@dataclass
class Track:
    """One person over the frames ``[start, stop)`` of a video."""

    person_id: int
    look: Appearance
    ground: float  # frame y of the feet line
    segments: list[Segment]
    x0: float  # frame x of the pelvis at ``start``
    chair_x: float | None = None
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # pelvis x per frame

    @property
    def start(self) -> int:
        return self.segments[0].start

    @property
    def stop(self) -> int:
        return self.segments[-1].stop

    @property
    def height(self) -> float:
        return self.look.height

    def segment_index(self, frame: int) -> int:
        for index, seg in enumerate(self.segments):
            if seg.contains(frame):
                return index
        raise IndexError(f"frame {frame} outside track {self.person_id}")


@dataclass
class VideoScript:
    width: int
    height: int
    num_frames: int
    tracks: list[Track]


@dataclass(frozen=True)
class ScriptConfig:
    """Knobs of the scenario sampler (probabilities shape the long tail)."""

    pair_prob: float = 0.75
    second_pair_prob: float = 0.15
    sitting_pair_prob: float = 0.25
    audience_prob: float = 0.4
    performer_prob: float = 0.35
    wanderers: tuple[int, int] = (1, 2)
    enter_prob: float = 0.35
    leave_prob: float = 0.3
    shake_prob: float = 0.12
    hug_prob: float = 0.04
    push_prob: float = 0.025
    pair_carry_prob: float = 0.2


def _labels(*names: str) -> tuple[int, ...]:
    return tuple(sorted({action_id(n) for n in names}))


def random_look(rng: np.random.Generator, height: float) -> Appearance:
    """Random person appearance: skin tone, hair, shirt/pants colours, texture, build."""
    skins = [(241, 194, 160), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 58, 32)]
    hairs = [(30, 20, 15), (90, 60, 30), (200, 170, 90), (120, 120, 120), (160, 50, 20)]

    def colour() -> tuple[int, int, int]:
        hue = rng.uniform(0, 360)
        sat, val = rng.uniform(0.35, 0.95), rng.uniform(0.35, 0.95)
        c = val * sat
        x = c * (1 - abs((hue / 60) % 2 - 1))
        m = val - c
        r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][
            int(hue // 60) % 6
        ]
        return tuple(int(255 * (v + m)) for v in (r, g, b))  # type: ignore[return-value]

    return Appearance(
        height=float(height),
        skin=skins[rng.integers(len(skins))],
        hair=hairs[rng.integers(len(hairs))],
        shirt=colour(),
        shirt_alt=colour(),
        pants=colour(),
        texture=str(rng.choice(["solid", "stripes", "checker"], p=[0.5, 0.3, 0.2])),
        build=float(rng.uniform(0.8, 1.25)),
    )


class _Builder:
    """Appends segments to a track, keeping boundaries on the half-second grid."""

    def __init__(self, start: int, stop: int) -> None:
        self.segments: list[Segment] = []
        self.cursor = start
        self.stop = stop

    @property
    def full(self) -> bool:
        return self.cursor >= self.stop

    def add(self, seconds: int, body: str, labels: tuple[int, ...], **kw) -> None:
        if self.full:
            return
        end = min(_first_cut(self.cursor + 1) + (seconds - 1) * FPS, self.stop)
        self.segments.append(Segment(self.cursor, end, body, labels=labels, **kw))
        self.cursor = end


def _first_cut(frame: int) -> int:
    """The first half-second boundary at or after ``frame``."""
    return int(math.ceil((frame - 15) / FPS) * FPS + 15)


def _height_at(ground: float, frame_h: int) -> float:
    depth = (ground / frame_h - 0.6) / 0.37
    return frame_h * (0.34 + 0.4 * depth)


def _stand_variant(rng: np.random.Generator) -> str:
    return str(
        rng.choice(
            ["neutral", "stride", "raised_arm", "hands_together", "arms_up"],
            p=[0.55, 0.15, 0.1, 0.1, 0.1],
        )
    )


def _pair(
    rng: np.random.Generator, cfg: ScriptConfig, width: int, frame_h: int, stop: int, pid: int
) -> list[Track]:
    ground = rng.uniform(0.66, 0.92) * frame_h
    height = _height_at(ground, frame_h)
    looks = [random_look(rng, height * rng.uniform(0.9, 1.08)) for _ in range(2)]
    mean_h = (looks[0].height + looks[1].height) / 2
    seated = rng.random() < cfg.sitting_pair_prob
    gap = (0.95 if seated else 0.62) * mean_h
    centre = rng.uniform(0.25, 0.75) * width
    xs = [centre - gap / 2, centre + gap / 2]
    builders = [_Builder(0, stop), _Builder(0, stop)]
    pose = "sit" if seated else "stand"
    talker = int(rng.integers(2))
    holder = int(rng.integers(2)) if not seated and rng.random() < cfg.pair_carry_prob else -1
    pushed = False
    first = True
    while not builders[0].full:
        event = rng.random()
        if not seated and not pushed and event < cfg.push_prob and not first:
            pusher = int(rng.integers(2))
            for k in (0, 1):
                body = "push" if k == pusher else "pushed"
                labels = _labels("stand", "push") if k == pusher else _labels("stand")
                builders[k].add(1, body, labels, facing=1 if k == 0 else -1)
            pushed = True
            continue
        if not seated and not pushed and event < cfg.push_prob + cfg.hug_prob:
            seconds = int(rng.integers(2, 4))
            for k in (0, 1):
                builders[k].add(seconds, "hug", _labels("stand", "hug"), facing=1 - 2 * k)
            first = False
            continue
        if not seated and not pushed and event < cfg.push_prob + cfg.hug_prob + cfg.shake_prob:
            seconds = int(rng.integers(1, 3))
            for k in (0, 1):
                builders[k].add(seconds, "shake", _labels("stand", "shake"), facing=1 - 2 * k)
            first = False
            continue
        first = False
        seconds = int(rng.integers(2, 5))
        if pushed or rng.random() < 0.15:
            for k in (0, 1):
                builders[k].add(
                    seconds,
                    pose,
                    _labels(pose, "watch"),
                    arms="listen" if rng.random() < 0.3 else "none",
                    facing=1 - 2 * k,
                    phase=rng.uniform(0, 6.3),
                )
            continue
        for k in (0, 1):
            role = "talk" if k == talker else "listen"
            extra = ("watch",) if rng.random() < (0.3 if k == talker else 0.85) else ()
            if k == holder:
                extra, arms = (*extra, "carry"), f"carry_{role}"
            else:
                arms = role
            labels = _labels(pose, role, *extra)
            still = role == "listen" and rng.random() < 0.4
            builders[k].add(
                seconds,
                pose,
                labels,
                arms=arms,
                variant="gesture_still" if still else "neutral",
                facing=1 - 2 * k,
                phase=rng.uniform(0, 6.3),
            )
        talker = 1 - talker if rng.random() < 0.7 else talker
    tracks = []
    for k in (0, 1):
        tracks.append(
            Track(
                person_id=pid + k,
                look=looks[k],
                ground=ground + (k - 0.5) * 0.01 * frame_h,
                segments=builders[k].segments,
                x0=xs[k],
                chair_x=xs[k] if seated else None,
            )
        )
    return tracks


def _performer(
    rng: np.random.Generator, width: int, frame_h: int, stop: int, pid: int, x: float
) -> Track:
    ground = rng.uniform(0.64, 0.8) * frame_h
    look = random_look(rng, _height_at(ground, frame_h))
    builder = _Builder(0, stop)
    facing = 1 if rng.random() < 0.5 else -1
    while not builder.full:
        kind = rng.choice(["dance", "jump", "wave", "clap", "stand"], p=[0.3, 0.2, 0.2, 0.15, 0.15])
        if kind in ("dance", "jump"):
            freq = rng.uniform(0.9, 1.2) if kind == "dance" else rng.uniform(1.1, 1.5)
            builder.add(
                int(rng.integers(2, 5)),
                str(kind),
                _labels(str(kind)),
                facing=facing,
                freq=freq,
                phase=rng.uniform(0, 6.3),
            )
        elif kind in ("wave", "clap"):
            builder.add(
                int(rng.integers(2, 4)),
                "stand",
                _labels("stand", str(kind)),
                arms=str(kind),
                facing=facing,
                freq=rng.uniform(1.6, 2.4) if kind == "wave" else rng.uniform(1.1, 1.5),
                phase=rng.uniform(0, 6.3),
            )
        else:
            builder.add(
                int(rng.integers(1, 3)),
                "stand",
                _labels("stand"),
                variant=_stand_variant(rng),
                facing=facing,
                phase=rng.uniform(0, 6.3),
            )
    return Track(pid, look, ground, builder.segments, x)


def _sitter(
    rng: np.random.Generator, width: int, frame_h: int, stop: int, pid: int, target_x: float | None
) -> Track:
    ground = rng.uniform(0.82, 0.96) * frame_h
    look = random_look(rng, _height_at(ground, frame_h))
    x = rng.uniform(0.1, 0.9) * width
    if target_x is not None and abs(target_x - x) < 0.15 * width:
        x = target_x + (0.3 * width if target_x < width / 2 else -0.3 * width)
    facing = (1 if target_x > x else -1) if target_x is not None else int(rng.choice([-1, 1]))
    builder = _Builder(0, stop)
    leave_at = stop
    if rng.random() < 0.3:
        leave_at = _first_cut(int(rng.uniform(0.4, 0.8) * stop))
    watch = ("watch",) if target_x is not None else ()
    while builder.cursor < leave_at:
        roll = rng.random()
        arms = "clap" if roll < 0.12 else "wave" if roll < 0.2 else "none"
        freq = {"clap": (1.1, 1.5), "wave": (1.6, 2.4), "none": (1.0, 1.0)}[arms]
        variant = "raised_arm" if arms == "none" and rng.random() < 0.1 else "neutral"
        names = ("sit", *watch) if arms == "none" else ("sit", arms, *watch)
        builder.add(
            int(rng.integers(2, 5)),
            "sit",
            _labels(*names),
            arms=arms,
            variant=variant,
            facing=facing,
            freq=float(rng.uniform(*freq)),
            phase=float(rng.uniform(0, 6.3)),
        )
    if not builder.full:
        walk_facing = int(rng.choice([-1, 1]))
        builder.add(1, "stand", _labels("stand"), facing=walk_facing)
        builder.add(60, "walk", _labels("walk"), facing=walk_facing, freq=rng.uniform(0.9, 1.15))
    return Track(pid, look, ground, builder.segments, x, chair_x=x)


# Wanderer activities: (body, arms, label names, seconds range, frequency range, probability).
_WANDER = {
    "walk": ("walk", "none", ("walk",), (2, 5), (0.85, 1.15), 0.33),
    "stand": ("stand", "none", ("stand",), (1, 3), (1.0, 1.0), 0.2),
    "run": ("run", "none", ("run",), (2, 3), (1.3, 1.6), 0.16),
    "jump": ("jump", "none", ("jump",), (2, 3), (1.1, 1.5), 0.05),
    "dance": ("dance", "none", ("dance",), (2, 3), (0.9, 1.2), 0.04),
    "bend": ("bend", "none", ("bend",), (1, 3), (1.0, 1.0), 0.08),
    "wave": ("stand", "wave", ("stand", "wave"), (2, 3), (1.6, 2.4), 0.05),
    "clap": ("stand", "clap", ("stand", "clap"), (2, 3), (1.1, 1.5), 0.04),
    "pick_up": ("pick_up", "none", ("bend", "pick_up"), (1, 1), (1.0, 1.0), 0.04),
    "fall": ("fall", "none", ("fall",), (1, 1), (1.0, 1.0), 0.025),
}
_HOLDING = {
    "walk": ("walk", "carry", ("walk", "carry"), (2, 5), (0.85, 1.15), 0.55),
    "stand": ("stand", "carry", ("stand", "carry"), (1, 3), (1.0, 1.0), 0.33),
    "throw": ("throw", "none", ("stand", "throw"), (1, 1), (1.0, 1.0), 0.12),
}
_SPEED = {"walk": 0.7, "run": 1.0}  # figure heights per second per unit of frequency


def _wanderer(
    rng: np.random.Generator, cfg: ScriptConfig, width: int, frame_h: int, stop: int, pid: int
) -> Track:
    """A person alone: a Markov chain of activities that keeps them in view unless leaving."""
    ground = rng.uniform(0.6, 0.97) * frame_h
    look = random_look(rng, _height_at(ground, frame_h))
    enter = rng.random() < cfg.enter_prob
    start = _first_cut(int(rng.uniform(0.0, 0.5) * stop)) if enter else 0
    builder = _Builder(start, stop)
    holding = rng.random() < 0.3
    facing = int(rng.choice([-1, 1]))
    if enter:
        x0 = -0.3 * look.height if facing > 0 else width + 0.3 * look.height
    else:
        x0 = rng.uniform(0.1, 0.9) * width
    x = x0
    leave_from = (
        _first_cut(int(rng.uniform(0.4, 1.0) * stop)) if rng.random() < cfg.leave_prob else stop
    )
    first = True
    while not builder.full:
        leaving = builder.cursor >= leave_from
        table = _HOLDING if holding else _WANDER
        entering = first and enter
        if entering or leaving:
            kind = "walk"
        else:
            names = list(table)
            probs = np.array([table[n][-1] for n in names])
            kind = str(rng.choice(names, p=probs / probs.sum()))
        first = False
        body, arms, names_, (lo, hi), (f_lo, f_hi), _ = table[kind]
        seconds = int(rng.integers(lo, hi + 1))
        freq = float(rng.uniform(f_lo, f_hi))
        if leaving:
            facing, seconds = (1 if x > width / 2 else -1), 60
        elif body in _SPEED and not entering:
            # Turn towards the open side, and shorten walks that would leave the frame.
            speed = _SPEED[body] * freq * look.height
            if x < 0.25 * width:
                facing = 1
            elif x > 0.75 * width:
                facing = -1
            elif rng.random() < 0.35:
                facing = -facing
            room = (0.95 * width - x) if facing > 0 else (x - 0.05 * width)
            seconds = max(1, min(seconds, int(room / speed)))
        elif rng.random() < 0.3:
            facing = -facing
        before = builder.cursor
        builder.add(
            seconds,
            body,
            _labels(*names_),
            arms=arms,
            facing=facing,
            freq=freq,
            phase=float(rng.uniform(0, 6.3)),
        )
        if body in _SPEED:
            x += facing * _SPEED[body] * freq * look.height * (builder.cursor - before) / FPS
        if kind == "pick_up":
            holding = True
        elif kind == "throw":
            holding = False
        elif kind == "fall":
            builder.add(60, "lie", _labels("lie"), facing=facing, phase=float(rng.uniform(0, 6.3)))
    return Track(pid, look, ground, builder.segments, x0)


def integrate_positions(track: Track, fps: float = FPS) -> None:
    """Fill ``track.x``: the pelvis x for every frame of the track (root velocity integrated)."""
    x = np.empty(track.stop - track.start)
    position = track.x0
    for index, seg in enumerate(track.segments):
        del index
        for frame in range(seg.start, seg.stop):
            x[frame - track.start] = position
            s = (frame - seg.clock_start) / fps
            position += motions.velocity(seg, s) * track.height / fps
    track.x = x


def truncate_when_gone(track: Track, width: int) -> bool:
    """Cut a track at the first frame its figure is entirely outside the frame for good.

    Returns False when nothing of the track remains.
    """
    margin = 0.6 * track.height
    outside = (track.x < -margin) | (track.x > width + margin)
    if not outside.any():
        return True
    inside = np.flatnonzero(~outside)
    if len(inside) == 0:
        return False
    last_inside = inside[-1]
    # Entering tracks start outside; only a departure after the last visible frame cuts.
    cut_frame = track.start + last_inside + 1
    if cut_frame >= track.stop:
        return True
    segments = []
    for seg in track.segments:
        if seg.start >= cut_frame:
            break
        if seg.stop > cut_frame:
            seg = dataclasses.replace(seg, stop=cut_frame)
        segments.append(seg)
    track.segments = segments
    track.x = track.x[: cut_frame - track.start]
    return True


def sample_script(
    rng: np.random.Generator, width: int, height: int, seconds: int, cfg: ScriptConfig
) -> VideoScript:
    """Sample the people and their segments for one video of ``seconds`` seconds."""
    num_frames = seconds * FPS
    tracks: list[Track] = []
    pid = 0
    performer_x = None
    if rng.random() < cfg.performer_prob:
        performer_x = rng.uniform(0.3, 0.7) * width
        tracks.append(_performer(rng, width, height, num_frames, pid, performer_x))
        pid += 1
    pairs = int(rng.random() < cfg.pair_prob) + int(rng.random() < cfg.second_pair_prob)
    for _ in range(pairs):
        tracks.extend(_pair(rng, cfg, width, height, num_frames, pid))
        pid += 2
    if rng.random() < cfg.audience_prob:
        tracks.append(_sitter(rng, width, height, num_frames, pid, performer_x))
        pid += 1
    for _ in range(int(rng.integers(cfg.wanderers[0], cfg.wanderers[1] + 1))):
        tracks.append(_wanderer(rng, cfg, width, height, num_frames, pid))
        pid += 1
    kept = []
    for track in tracks:
        integrate_positions(track)
        if truncate_when_gone(track, width):
            kept.append(track)
    return VideoScript(width, height, num_frames, kept)


# Single-label clips for clip-classification pre-training: one recipe per class.
CLIP_CLASSES = (
    "stand", "sit", "bend", "lie", "walk", "run", "jump", "fall", "dance", "carry", "pick_up",
    "throw", "wave", "clap", "talk", "shake", "hug", "push",
)  # fmt: skip


def clip_script(
    rng: np.random.Generator, name: str, width: int, height: int, num_frames: int
) -> VideoScript:
    """A short clip in which one person (or a pair, for interactions) performs ``name``.

    Figures are larger than in the scene videos; moving ones cross the frame's centre. Events
    (fall, pick up, throw, push) happen once, centred in the clip.
    """
    ground = rng.uniform(0.9, 0.97) * height
    fig_h = rng.uniform(0.6, 0.75) * height
    facing = int(rng.choice([-1, 1]))
    phase = float(rng.uniform(0, 6.3))
    mid = num_frames // 2
    event = (mid - FPS // 2, mid + FPS // 2)

    def seg(start: int, stop: int, body: str, **kw) -> Segment:
        kw.setdefault("facing", facing)
        kw.setdefault("phase", phase)
        return Segment(start, stop, body, labels=_labels(name), **kw)

    pair_names = ("talk", "shake", "hug", "push")
    if name in pair_names:
        looks = [random_look(rng, fig_h * rng.uniform(0.92, 1.05)) for _ in range(2)]
        gap = 0.62 * (looks[0].height + looks[1].height) / 2
        xs = [width / 2 - gap / 2, width / 2 + gap / 2]
        tracks = []
        for k in (0, 1):
            side = 1 - 2 * k
            if name == "talk":
                arms = "talk" if k == 0 else "listen"
                segments = [seg(0, num_frames, "stand", arms=arms, facing=side)]
            elif name == "push":
                segments = [
                    seg(0, event[0], "stand", facing=side),
                    seg(event[0], event[1], "push" if k == 0 else "pushed", facing=side),
                    seg(event[1], num_frames, "stand", facing=side),
                ]
            else:
                segments = [seg(0, num_frames, name, facing=side)]
            tracks.append(Track(k, looks[k], ground, segments, xs[k]))
    else:
        look = random_look(rng, fig_h)
        x0 = width / 2 + rng.uniform(-0.1, 0.1) * width
        chair = None
        freq = {"walk": 1.0, "run": 1.45, "jump": 1.3, "dance": 1.05, "wave": 2.0, "clap": 1.3}
        f = freq.get(name, 1.0) * float(rng.uniform(0.85, 1.15))
        if name in ("walk", "run"):
            x0 = width / 2 - facing * _SPEED[name] * f * fig_h * num_frames / FPS / 2
            segments = [seg(0, num_frames, name, freq=f)]
        elif name in ("wave", "clap"):
            segments = [seg(0, num_frames, "stand", arms=name, freq=f)]
        elif name == "carry":
            segments = [seg(0, num_frames, "stand", arms="carry")]
        elif name in ("fall", "pick_up", "throw"):
            before = "carry" if name == "throw" else "none"
            after_body = "lie" if name == "fall" else "stand"
            after_arms = "carry" if name == "pick_up" else "none"
            segments = [
                seg(0, event[0], "stand", arms=before),
                seg(event[0], event[1], name),
                seg(event[1], num_frames, after_body, arms=after_arms),
            ]
        elif name == "stand":
            segments = [seg(0, num_frames, "stand", variant=_stand_variant(rng))]
        else:
            if name == "sit":
                chair = x0
            segments = [seg(0, num_frames, name, freq=f)]
        tracks = [Track(0, look, ground, segments, x0, chair_x=chair)]
    for track in tracks:
        integrate_positions(track)
    return VideoScript(width, height, num_frames, tracks)
