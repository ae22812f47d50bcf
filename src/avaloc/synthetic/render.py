"""Pixels of a scripted video: textured background, props, distractors, figures, camera jitter.

Frames are drawn on a canvas larger than the frame by ``JITTER_MARGIN`` pixels on each side and
cropped at a per-frame integer offset (camera shake), so box coordinates stay exact: a figure's
frame box is its canvas mask box minus the crop offset.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from avaloc.synthetic.figure import DrawnFigure, Placement, draw_figure, hand_positions
from avaloc.synthetic.motions import pose_at
from avaloc.synthetic.script import FPS, Track, VideoScript

JITTER_MARGIN = 4
GRAVITY = 5.0  # figure heights per second squared, for thrown objects


@dataclass(frozen=True)
class Distractor:
    """A non-person moving object: a bouncing ball, a sliding cart or a flying bird."""

    kind: str
    colour: tuple[int, int, int]
    size: float
    x0: float
    y0: float
    vx: float
    phase: float
    front: bool  # drawn in front of the people (occludes them)


@dataclass(frozen=True)
class Scene:
    """Everything needed to draw any frame of a video, independently of the other frames."""

    script: VideoScript
    background: np.ndarray  # canvas (H + 2m, W + 2m, 3) RGB
    jitter: np.ndarray  # (num_frames, 2) int crop offsets in [-m, m]
    distractors: tuple[Distractor, ...]
    box_colours: dict[int, tuple[int, int, int]]


def _noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth value noise in [0, 1] (random grid upsampled with bicubic interpolation)."""
    grid = rng.random((cells, max(2, int(cells * shape[1] / shape[0]))), dtype=np.float32)
    return np.clip(cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC), 0, 1)


def make_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A wall + floor scene with texture, windows/doors/pictures, and floor tiles or planks."""
    horizon = int(height * rng.uniform(0.45, 0.58))
    wall = np.array(rng.integers(70, 230, size=3), dtype=np.float32)
    floor = np.array(rng.integers(40, 180, size=3), dtype=np.float32)
    canvas = np.empty((height, width, 3), dtype=np.float32)
    texture = _noise(rng, (height, width), int(rng.integers(3, 9)))[..., None]
    grain = _noise(rng, (height, width), int(rng.integers(20, 40)))[..., None]
    canvas[:horizon] = wall * (0.8 + 0.3 * texture[:horizon]) + 12 * (grain[:horizon] - 0.5)
    rows = np.linspace(0.85, 1.15, height - horizon, dtype=np.float32)[:, None, None]
    canvas[horizon:] = floor * rows * (0.85 + 0.25 * texture[horizon:]) + 18 * (
        grain[horizon:] - 0.5
    )
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    # Floor pattern: receding lines.
    line_colour = tuple(int(v) for v in np.clip(floor * 0.7, 0, 255))
    if rng.random() < 0.6:
        for k in range(-8, 9):
            x_far = width / 2 + k * width / 16
            x_near = width / 2 + k * width / 4
            cv2.line(image, (int(x_far), horizon), (int(x_near), height), line_colour, 1)
    for k in range(1, 5):
        y = horizon + int((height - horizon) * (k / 5) ** 1.6)
        cv2.line(image, (0, y), (width, y), line_colour, 1)
    cv2.line(image, (0, horizon), (width, horizon), tuple(int(v * 0.5) for v in wall), 2)
    # Wall furniture: windows, doors, pictures.
    for _ in range(int(rng.integers(2, 6))):
        w = int(rng.uniform(0.08, 0.22) * width)
        h = int(rng.uniform(0.15, 0.35) * height)
        x = int(rng.uniform(0, width - w))
        y = int(rng.uniform(0.05 * height, max(0.06 * height, horizon - h)))
        colour = tuple(int(v) for v in rng.integers(20, 250, size=3))
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1)
        frame_colour = tuple(int(v * 0.5) for v in colour)
        cv2.rectangle(image, (x, y), (x + w, y + h), frame_colour, max(1, width // 160))
        if rng.random() < 0.5:
            cv2.line(image, (x + w // 2, y), (x + w // 2, y + h), frame_colour, 1)
            cv2.line(image, (x, y + h // 2), (x + w, y + h // 2), frame_colour, 1)
    # Static floor clutter: plants and crates.
    for _ in range(int(rng.integers(0, 3))):
        base_y = int(rng.uniform(horizon + 4, height - 2))
        size = int((0.05 + 0.1 * (base_y - horizon) / max(1, height - horizon)) * height)
        x = int(rng.uniform(0, width))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x, base_y - size), (x + size, base_y), (120, 80, 40), -1)
            cv2.rectangle(image, (x, base_y - size), (x + size, base_y), (70, 45, 20), 1)
        else:
            cv2.rectangle(
                image, (x, base_y - size // 2), (x + size // 2, base_y), (150, 70, 50), -1
            )
            cv2.circle(image, (x + size // 4, base_y - size), max(2, size // 2), (40, 140, 50), -1)
    return image


def _draw_chair(image: np.ndarray, x: float, ground: float, height: float, facing: int) -> None:
    seat_y = ground - 0.24 * height
    half = 0.14 * height
    back_x = x - facing * half
    colour = (110, 70, 35)
    thick = max(1, round(0.03 * height))
    pts = [
        ((x - half, seat_y), (x + half, seat_y)),
        ((x - half * 0.9, seat_y), (x - half * 0.9, ground)),
        ((x + half * 0.9, seat_y), (x + half * 0.9, ground)),
        ((back_x, seat_y), (back_x, seat_y - 0.3 * height)),
    ]
    for a, b in pts:
        cv2.line(image, (round(a[0]), round(a[1])), (round(b[0]), round(b[1])), colour, thick)


def build_scene(rng: np.random.Generator, script: VideoScript) -> Scene:
    """Background (with chairs), camera jitter path and distractors of a scripted video."""
    m = JITTER_MARGIN
    background = make_background(rng, script.width + 2 * m, script.height + 2 * m)
    for track in script.tracks:
        if track.chair_x is not None:
            facing = next(s.facing for s in track.segments if s.body == "sit")
            _draw_chair(background, track.chair_x + m, track.ground + m, track.height, facing)
    t = np.arange(script.num_frames) / FPS
    amplitude = rng.uniform(0.3, m - 0.5)
    jitter = np.zeros((script.num_frames, 2), dtype=np.int64)
    for axis in (0, 1):
        f1, f2 = rng.uniform(0.2, 0.7), rng.uniform(1.0, 3.0)
        p1, p2 = rng.uniform(0, 2 * math.pi, size=2)
        path = 0.7 * np.sin(2 * math.pi * f1 * t + p1) + 0.3 * np.sin(2 * math.pi * f2 * t + p2)
        jitter[:, axis] = np.clip(np.round(amplitude * path), -m, m)
    distractors = []
    for _ in range(int(rng.integers(1, 4))):
        kind = str(rng.choice(["ball", "cart", "bird"]))
        size = rng.uniform(0.04, 0.09) * script.height
        if kind == "bird":
            size = rng.uniform(0.02, 0.045) * script.height
            y0 = rng.uniform(0.05, 0.4) * script.height
        else:
            y0 = rng.uniform(0.65, 0.98) * script.height
        speed = rng.uniform(0.1, 0.5) * script.width * rng.choice([-1, 1])
        distractors.append(
            Distractor(
                kind=kind,
                colour=tuple(int(v) for v in rng.integers(30, 255, size=3)),
                size=size,
                x0=rng.uniform(0, script.width),
                y0=y0,
                vx=float(speed),
                phase=rng.uniform(0, 2 * math.pi),
                front=bool(rng.random() < 0.5),
            )
        )
    colours = {
        track.person_id: tuple(int(v) for v in rng.integers(40, 256, size=3))
        for track in script.tracks
    }
    return Scene(script, background, jitter, tuple(distractors), colours)


def _draw_distractor(canvas: np.ndarray, d: Distractor, frame: int, width: int) -> None:
    t = frame / FPS
    span = width + 4 * d.size
    x = (d.x0 + d.vx * t + 2 * d.size) % span - 2 * d.size + JITTER_MARGIN
    y = d.y0 + JITTER_MARGIN
    if d.kind == "ball":
        y -= abs(math.sin(2.2 * t + d.phase)) * 3 * d.size
        cv2.circle(
            canvas, (round(x), round(y - d.size / 2)), max(1, round(d.size / 2)), d.colour, -1
        )
    elif d.kind == "cart":
        w, h = 2.0 * d.size, 1.2 * d.size
        cv2.rectangle(
            canvas,
            (round(x - w / 2), round(y - h)),
            (round(x + w / 2), round(y - 0.25 * h)),
            d.colour,
            -1,
        )
        for dx in (-w / 3, w / 3):
            cv2.circle(
                canvas,
                (round(x + dx), round(y - 0.2 * h)),
                max(1, round(0.2 * h)),
                (30, 30, 30),
                -1,
            )
    else:
        flap = math.sin(12 * t + d.phase) * d.size
        y += 0.2 * d.size * math.sin(3 * t + d.phase)
        thick = max(1, round(d.size / 4))
        centre = (round(x), round(y))
        cv2.line(canvas, centre, (round(x - d.size), round(y - flap)), d.colour, thick)
        cv2.line(canvas, centre, (round(x + d.size), round(y - flap)), d.colour, thick)


def _box_at(centre: np.ndarray, size: float) -> tuple[tuple[int, int], tuple[int, int]]:
    half = size / 2
    return (
        (round(centre[0] - half), round(centre[1] - half)),
        (round(centre[0] + half), round(centre[1] + half)),
    )


def _draw_carried(canvas: np.ndarray, centre: np.ndarray, size: float) -> None:
    a, b = _box_at(centre, size)
    cv2.rectangle(canvas, a, b, (200, 150, 60), -1)
    cv2.rectangle(canvas, a, b, (110, 70, 20), 1)


def _placement(track: Track, frame: int) -> Placement:
    seg = track.segments[track.segment_index(frame)]
    return Placement(
        x=float(track.x[frame - track.start]) + JITTER_MARGIN,
        ground=track.ground + JITTER_MARGIN,
        height=track.height,
        facing=seg.facing,
    )


def figure_at(track: Track, frame: int) -> DrawnFigure:
    """The drawn figure of ``track`` at ``frame`` (canvas coordinates, not clipped)."""
    index = track.segment_index(frame)
    pose = pose_at(track.segments, index, frame, FPS)
    return draw_figure(pose, _placement(track, frame), track.look)


def _object_state(track: Track, frame: int) -> tuple[str, np.ndarray | None]:
    """Where the track's box object is at ``frame``: held, resting, flying, or absent."""
    index = track.segment_index(frame)
    seg = track.segments[index]
    s = (frame - seg.clock_start) / FPS
    place = _placement(track, frame)
    size = 0.17 * track.height
    if (
        seg.arms.startswith("carry")
        or (seg.body == "pick_up" and s >= 0.5)
        or (seg.body == "throw" and s < 0.6)
    ):
        pose = pose_at(track.segments, index, frame, FPS)
        near, far = hand_positions(pose, place)
        return "held", (near + far) / 2 + np.array([0.0, size * 0.3])
    if seg.body == "pick_up":
        grab = min(seg.clock_start + int(0.5 * FPS), seg.stop - 1)
        pose = pose_at(track.segments, index, grab, FPS)
        near, far = hand_positions(pose, _placement(track, grab))
        return "rest", np.array([(near[0] + far[0]) / 2, place.ground - size / 2])
    # A thrown object flies on from its release point (even after the throw segment).
    for k in range(index, -1, -1):
        past = track.segments[k]
        if past.body == "pick_up":
            break
        if past.body == "throw":
            release = min(past.clock_start + int(0.6 * FPS), past.stop - 1)
            if frame < release:
                break
            pose = pose_at(track.segments, k, release, FPS)
            rel_place = _placement(track, release)
            near, _ = hand_positions(pose, rel_place)
            dt = (frame - release) / FPS
            h = track.height
            x = near[0] + rel_place.facing * 2.5 * h * dt
            y = near[1] - 1.6 * h * dt + 0.5 * GRAVITY * h * dt * dt
            y = min(y, rel_place.ground - size / 2)
            return "flying", np.array([x, y])
    return "absent", None


def render_frame(
    scene: Scene, frame: int, *, people: set[int] | None = None
) -> tuple[np.ndarray, dict[int, DrawnFigure]]:
    """Draw frame ``frame``: the cropped RGB image and each visible person's canvas figure.

    ``people`` restricts the drawn persons (and their objects) to those ids; tests use it to
    isolate a figure. Background and distractors are always drawn.
    """
    script = scene.script
    m = JITTER_MARGIN
    canvas = scene.background.copy()
    for d in scene.distractors:
        if not d.front:
            _draw_distractor(canvas, d, frame, script.width)
    figures: dict[int, DrawnFigure] = {}
    present = [t for t in script.tracks if t.start <= frame < t.stop]
    for track in sorted(present, key=lambda t: (t.ground, t.person_id)):
        if people is not None and track.person_id not in people:
            continue
        drawn = figure_at(track, frame)
        drawn.paste(canvas)
        figures[track.person_id] = drawn
        state, centre = _object_state(track, frame)
        if state != "absent":
            _draw_carried(canvas, centre, 0.17 * track.height)
    for d in scene.distractors:
        if d.front:
            _draw_distractor(canvas, d, frame, script.width)
    dx, dy = (int(v) for v in scene.jitter[frame])
    image = canvas[m + dy : m + dy + script.height, m + dx : m + dx + script.width]
    return np.ascontiguousarray(image), figures


def frame_box(scene: Scene, frame: int, drawn: DrawnFigure) -> tuple[np.ndarray, float] | None:
    """A figure's tight box in frame pixels (x1, y1, x2, y2; clipped) and its visible fraction."""
    bbox = drawn.bbox()
    if bbox is None:
        return None
    dx, dy = (int(v) for v in scene.jitter[frame])
    offset_x, offset_y = JITTER_MARGIN + dx, JITTER_MARGIN + dy
    width, height = scene.script.width, scene.script.height
    h, w = drawn.mask.shape
    left, top = drawn.left - offset_x, drawn.top - offset_y
    cols = np.arange(w) + left
    rows = np.arange(h) + top
    inside = drawn.mask[(rows >= 0) & (rows < height)][:, (cols >= 0) & (cols < width)]
    total = int(drawn.mask.sum())
    visible = int(inside.sum())
    if visible == 0:
        return None
    x1, y1, x2, y2 = bbox
    box = np.array(
        [
            max(x1 - offset_x, 0),
            max(y1 - offset_y, 0),
            min(x2 - offset_x, width),
            min(y2 - offset_y, height),
        ],
        dtype=np.float64,
    )
    return box, visible / total


def iterate_frames(scene: Scene) -> Iterator[np.ndarray]:
    for frame in range(scene.script.num_frames):
        yield render_frame(scene, frame)[0]
