"""Articulated stick-and-limb figures: forward kinematics from joint angles, and drawing.

A figure faces +x in its own frame (y up, lengths in units of its height). Angles are radians:

* ``torso``: lean of the torso from vertical (+ = forward); ``head``: nod relative to the torso;
* ``arm_upper[i]``: shoulder angle relative to the torso's downward axis (+ = forward/up),
  ``arm_lower[i]``: elbow flexion (+ = forearm swings forward/up);
* ``leg_upper[i]``: hip angle from the world vertical (+ = forward),
  ``leg_lower[i]``: knee flexion (+ = shin swings backward);
* ``rotation``: the whole body tips forward about the feet (fall: 0 -> pi/2, lie: pi/2);
* ``lift``: height of the lowest point above the ground (jumps), ``sway``: pelvis shift.

Index 0 of the limb pairs is the near side (drawn in front), 1 the far side. The figure is placed
so that its lowest joint touches its ground line, then mirrored when it faces left.

::

        (head)
          |  neck
   arm -- + -- arm      shoulder = neck
          |  torso
          + pelvis
         / \\  thighs
        |   |  shins
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# Segment lengths in units of the figure's height (head top to sole ~ 1.0 when upright).
TORSO = 0.31
NECK = 0.035
HEAD_RADIUS = 0.068
UPPER_ARM = 0.165
FOREARM = 0.15
THIGH = 0.235
SHIN = 0.23
FOOT = 0.06

_SHIFT = 4  # cv2 sub-pixel bits: coordinates are drawn with 1/16 pixel precision
_SCALE = 1 << _SHIFT


@dataclass
class Pose:
    """Joint angles of one figure at one instant (see the module docstring)."""

    torso: float = 0.02
    head: float = 0.0
    arm_upper: list[float] = field(default_factory=lambda: [0.12, -0.08])
    arm_lower: list[float] = field(default_factory=lambda: [0.15, 0.1])
    leg_upper: list[float] = field(default_factory=lambda: [0.05, -0.05])
    leg_lower: list[float] = field(default_factory=lambda: [0.03, 0.03])
    rotation: float = 0.0
    lift: float = 0.0
    sway: float = 0.0
    mouth: float = 0.0

    def copy(self) -> Pose:
        return Pose(
            self.torso,
            self.head,
            list(self.arm_upper),
            list(self.arm_lower),
            list(self.leg_upper),
            list(self.leg_lower),
            self.rotation,
            self.lift,
            self.sway,
            self.mouth,
        )


def blend_poses(a: Pose, b: Pose, weight: float) -> Pose:
    """Linear interpolation ``(1 - weight) * a + weight * b`` of every angle."""

    def mix(x: float, y: float) -> float:
        return (1.0 - weight) * x + weight * y

    return Pose(
        mix(a.torso, b.torso),
        mix(a.head, b.head),
        [mix(x, y) for x, y in zip(a.arm_upper, b.arm_upper)],
        [mix(x, y) for x, y in zip(a.arm_lower, b.arm_lower)],
        [mix(x, y) for x, y in zip(a.leg_upper, b.leg_upper)],
        [mix(x, y) for x, y in zip(a.leg_lower, b.leg_lower)],
        mix(a.rotation, b.rotation),
        mix(a.lift, b.lift),
        mix(a.sway, b.sway),
        mix(a.mouth, b.mouth),
    )


@dataclass(frozen=True)
class Appearance:
    """How one person looks: size, colours (BGR-free: RGB tuples), shirt texture, build."""

    height: float  # pixels, at the reference depth
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    shirt_alt: tuple[int, int, int]
    pants: tuple[int, int, int]
    texture: str  # solid | stripes | checker
    build: float  # limb thickness multiplier


Point = tuple[float, float]


def _along(origin: Point, length: float, angle: float) -> Point:
    """``origin`` plus ``length`` along the downward direction rotated forward by ``angle``."""
    return origin[0] + length * math.sin(angle), origin[1] - length * math.cos(angle)


def joints(pose: Pose) -> dict[str, Point]:
    """Forward kinematics: joint positions in the figure frame (units of height, y up)."""
    pelvis = (pose.sway, 0.0)
    neck = _along(pelvis, -TORSO, pose.torso)
    head = _along(neck, -(NECK + HEAD_RADIUS), pose.torso + pose.head)
    points = {"pelvis": pelvis, "neck": neck, "head": head}
    for i in (0, 1):
        shoulder_angle = pose.torso + pose.arm_upper[i]
        elbow = _along(neck, UPPER_ARM, shoulder_angle)
        points[f"elbow{i}"] = elbow
        points[f"hand{i}"] = _along(elbow, FOREARM, shoulder_angle + pose.arm_lower[i])
        knee = _along(pelvis, THIGH, pose.leg_upper[i])
        shin_angle = pose.leg_upper[i] - pose.leg_lower[i]
        ankle = _along(knee, SHIN, shin_angle)
        points[f"knee{i}"] = knee
        points[f"ankle{i}"] = ankle
        points[f"toe{i}"] = _along(ankle, FOOT, shin_angle + math.pi / 2)
    if pose.rotation:
        px = (points["ankle0"][0] + points["ankle1"][0]) / 2
        py = (points["ankle0"][1] + points["ankle1"][1]) / 2
        cos, sin = math.cos(-pose.rotation), math.sin(-pose.rotation)
        points = {
            k: (px + cos * (x - px) - sin * (y - py), py + sin * (x - px) + cos * (y - py))
            for k, (x, y) in points.items()
        }
    return points


@dataclass(frozen=True)
class Placement:
    """Where a figure stands in canvas pixels: pelvis x, ground line y, scale, facing."""

    x: float
    ground: float
    height: float  # pixels
    facing: int  # +1 right, -1 left


def to_canvas(points: dict[str, Point], pose: Pose, place: Placement) -> dict[str, Point]:
    """Scale, mirror and place figure-frame joints in canvas pixels (y down).

    The lowest joint touches ``ground - lift * height``.
    """
    lowest = min(p[1] for p in points.values())
    base = place.ground + (lowest - pose.lift) * place.height
    scale_x = place.facing * place.height
    return {
        name: (place.x + scale_x * x, base - y * place.height) for name, (x, y) in points.items()
    }


@dataclass
class DrawnFigure:
    """A rendered person: colour patch, mask patch and the patch's top-left corner in canvas."""

    left: int
    top: int
    color: np.ndarray  # (h, w, 3) uint8
    mask: np.ndarray  # (h, w) bool

    def paste(self, canvas: np.ndarray) -> None:
        """Copy the figure's pixels onto ``canvas`` (the part inside it)."""
        h, w = self.mask.shape
        x0, y0 = max(self.left, 0), max(self.top, 0)
        x1, y1 = min(self.left + w, canvas.shape[1]), min(self.top + h, canvas.shape[0])
        if x0 >= x1 or y0 >= y1:
            return
        part = (slice(y0 - self.top, y1 - self.top), slice(x0 - self.left, x1 - self.left))
        np.copyto(canvas[y0:y1, x0:x1], self.color[part], where=self.mask[part][..., None])

    def bbox(self) -> tuple[int, int, int, int] | None:
        """Tight mask box in canvas pixels ``(x1, y1, x2, y2)``, x2/y2 exclusive."""
        rows = np.flatnonzero(self.mask.any(axis=1))
        if len(rows) == 0:
            return None
        cols = np.flatnonzero(self.mask.any(axis=0))
        return (
            self.left + int(cols[0]),
            self.top + int(rows[0]),
            self.left + int(cols[-1]) + 1,
            self.top + int(rows[-1]) + 1,
        )


def _fixed(p: Point, origin: tuple[int, int]) -> tuple[int, int]:
    return round((p[0] - origin[0]) * _SCALE), round((p[1] - origin[1]) * _SCALE)


@functools.lru_cache(maxsize=64)
def _texture(texture: str, period: int, side: int = 512) -> np.ndarray:
    """A square boolean pattern (True = alternate colour) of a shirt texture."""
    yy, xx = np.mgrid[0:side, 0:side]
    if texture == "stripes":
        return (yy // period) % 2 == 1
    return ((yy // period) + (xx // period)) % 2 == 1


def _rgba(rgb: tuple[int, int, int], shade: float = 1.0) -> tuple[int, int, int, int]:
    return int(rgb[0] * shade), int(rgb[1] * shade), int(rgb[2] * shade), 255


def draw_figure(pose: Pose, place: Placement, look: Appearance) -> DrawnFigure:
    """Render one figure into its own patch (colour + exact mask), not clipped to any canvas.

    Drawing goes to an RGBA patch whose alpha is the mask: the figure's own pixels (body, limbs,
    head), not held objects.
    """
    points = to_canvas(joints(pose), pose, place)
    h = place.height
    limb = max(2.0, 0.055 * h * look.build)
    leg = max(2.0, 0.07 * h * look.build)
    torso_half = max(1.5, 0.06 * h * look.build)
    head_r = max(2.0, HEAD_RADIUS * h)
    margin = head_r + leg + 3
    xs = [p[0] for p in points.values()]
    ys = [p[1] for p in points.values()]
    origin = (math.floor(min(xs) - margin), math.floor(min(ys) - margin))
    size = (
        max(math.ceil(max(ys) + margin) - origin[1], 1),
        max(math.ceil(max(xs) + margin) - origin[0], 1),
    )
    patch = np.zeros((*size, 4), dtype=np.uint8)

    def line(a: str, b: str, rgba: tuple[int, int, int, int], thickness: float) -> None:
        pa, pb = _fixed(points[a], origin), _fixed(points[b], origin)
        cv2.line(patch, pa, pb, rgba, max(1, round(thickness)), cv2.LINE_8, _SHIFT)

    def arm(i: int, shade: float) -> None:
        line("neck", f"elbow{i}", _rgba(look.shirt, shade), limb)
        line(f"elbow{i}", f"hand{i}", _rgba(look.skin, shade), limb * 0.9)

    def leg_(i: int, shade: float) -> None:
        pants = _rgba(look.pants, shade)
        line("pelvis", f"knee{i}", pants, leg)
        line(f"knee{i}", f"ankle{i}", pants, leg * 0.9)
        line(f"ankle{i}", f"toe{i}", (40, 30, 25, 255), leg * 0.7)

    arm(1, 0.7)
    leg_(1, 0.7)
    # Torso: a quadrilateral wider at the shoulders, filled with the shirt texture.
    (nx, ny), (px, py) = points["neck"], points["pelvis"]
    norm = math.hypot(nx - px, ny - py) + 1e-9
    ux, uy = -(ny - py) / norm, (nx - px) / norm
    wide, narrow = torso_half * 1.15, torso_half
    quad = [
        (nx + ux * wide, ny + uy * wide),
        (nx - ux * wide, ny - uy * wide),
        (px - ux * narrow, py - uy * narrow),
        (px + ux * narrow, py + uy * narrow),
    ]
    quad_fixed = np.array([_fixed(q, origin) for q in quad], dtype=np.int32)
    if look.texture == "solid":
        cv2.fillConvexPoly(patch, quad_fixed, _rgba(look.shirt), cv2.LINE_8, _SHIFT)
    else:
        torso = np.zeros(size, dtype=np.uint8)
        cv2.fillConvexPoly(torso, quad_fixed, 1, cv2.LINE_8, _SHIFT)
        side = 512 if max(size) <= 512 else max(size)
        pattern = _texture(look.texture, max(2, round(0.035 * h)), side)[: size[0], : size[1]]
        shirt = np.where(pattern[..., None], _rgba(look.shirt_alt), _rgba(look.shirt))
        np.copyto(patch, shirt.astype(np.uint8), where=torso[..., None] > 0)
    leg_(0, 1.0)
    # Head: skin disc, hair cap on the back half, an eye and a mouth on the facing side.
    centre = _fixed(points["head"], origin)
    radius = max(1, round(head_r * _SCALE))
    cv2.circle(patch, centre, radius, _rgba(look.skin), -1, cv2.LINE_8, _SHIFT)
    lean = math.degrees(pose.torso + pose.head + pose.rotation)
    hair_arc = (150.0, 300.0) if place.facing > 0 else (-120.0, 30.0)
    cv2.ellipse(
        patch,
        centre,
        (radius, radius),
        lean * place.facing,
        *hair_arc,
        _rgba(look.hair),
        -1,
        cv2.LINE_8,
        _SHIFT,
    )
    fx = place.facing * math.cos(math.radians(lean))
    fy = math.sin(math.radians(lean))
    hx, hy = points["head"]
    eye = (hx + head_r * 0.45 * fx, hy + head_r * (0.45 * fy - 0.2))
    eye_r = max(1, round(0.16 * head_r * _SCALE))
    cv2.circle(patch, _fixed(eye, origin), eye_r, (20, 20, 20, 255), -1, cv2.LINE_8, _SHIFT)
    mouth = (hx + head_r * 0.45 * fx, hy + head_r * (0.45 * fy + 0.35))
    axes = (
        max(1, round(0.28 * head_r * _SCALE)),
        max(1, round((0.1 + 0.3 * pose.mouth) * head_r * _SCALE)),
    )
    cv2.ellipse(
        patch, _fixed(mouth, origin), axes, 0, 0, 360, (90, 20, 30, 255), -1, cv2.LINE_8, _SHIFT
    )
    arm(0, 1.0)
    return DrawnFigure(origin[0], origin[1], patch[..., :3], patch[..., 3] > 0)


def hand_positions(pose: Pose, place: Placement) -> tuple[np.ndarray, np.ndarray]:
    """Canvas positions of the near and far hand (to attach held objects)."""
    points = to_canvas(joints(pose), pose, place)
    return np.array(points["hand0"]), np.array(points["hand1"])
