"""The synthetic benchmark's action vocabulary: 20 AVA-style classes with definitions.

Ids start at 1 like AVA's; ``label_type`` follows AVA v2.2 (hand wave and hand clap are
PERSON_INTERACTION there too). ``cue`` says what a single frame can show: ``pose`` classes are
visible in one frame, ``motion`` classes only over time (a still frame of them looks like a pose
that also occurs without the label), ``context`` classes need the other person or the object.
"""

from __future__ import annotations

from dataclasses import dataclass

from avaloc.formats import LabelMap


@dataclass(frozen=True)
class ActionClass:
    action_id: int
    name: str
    label_type: str
    cue: str
    definition: str


MOVEMENT = "PERSON_MOVEMENT"
OBJECT = "OBJECT_MANIPULATION"
INTERACTION = "PERSON_INTERACTION"

CLASSES: tuple[ActionClass, ...] = (
    ActionClass(1, "stand", MOVEMENT, "pose", "upright on straight legs, not translating"),
    ActionClass(2, "sit", MOVEMENT, "pose", "on a chair: thighs horizontal, shins vertical"),
    ActionClass(3, "bend/bow (at the waist)", MOVEMENT, "pose", "torso tilted 55-80 deg forward"),
    ActionClass(4, "lie/sleep", MOVEMENT, "pose", "body horizontal on the ground, still"),
    ActionClass(
        5, "walk", MOVEMENT, "motion", "legs swing ~1 Hz, arms counter-swing, slow translation"
    ),
    ActionClass(
        6, "run/jog", MOVEMENT, "motion", "legs swing ~1.5 Hz, bent elbows, lean, fast translation"
    ),
    ActionClass(
        7, "jump/leap", MOVEMENT, "motion", "repeated hops: the whole body leaves the ground"
    ),
    ActionClass(
        8, "fall down", MOVEMENT, "motion", "rotates from standing to lying within the window"
    ),
    ActionClass(9, "dance", MOVEMENT, "motion", "hip sway, side steps, arms alternately raised"),
    ActionClass(10, "carry/hold (an object)", OBJECT, "context", "a box held in both hands"),
    ActionClass(
        11, "pick up", OBJECT, "motion", "bends to an object on the ground and lifts it up"
    ),
    ActionClass(12, "throw", OBJECT, "motion", "arm swings forward and the object flies away"),
    ActionClass(13, "hand wave", INTERACTION, "motion", "raised forearm swings side to side ~2 Hz"),
    ActionClass(14, "hand clap", INTERACTION, "motion", "hands meet and part in front ~2.5 Hz"),
    ActionClass(
        15,
        "talk to (e.g., self, a person, a group)",
        INTERACTION,
        "motion",
        "faces a partner; head bobs, mouth opens and closes, hand gestures",
    ),
    ActionClass(
        16, "listen to (a person)", INTERACTION, "context", "faces a talking partner, still"
    ),
    ActionClass(
        17,
        "watch (a person)",
        INTERACTION,
        "context",
        "faces another person (a talker, a dancer), still",
    ),
    ActionClass(
        18, "hand shake", INTERACTION, "motion", "right hands meet between partners and pump"
    ),
    ActionClass(
        19, "hug (a person)", INTERACTION, "context", "partners lean in, arms around each other"
    ),
    ActionClass(
        20, "push (another person)", INTERACTION, "motion", "arms thrust; the partner stumbles back"
    ),
)

CLASS_BY_ID: dict[int, ActionClass] = {c.action_id: c for c in CLASSES}
_ID_BY_SHORT = {
    "stand": 1,
    "sit": 2,
    "bend": 3,
    "lie": 4,
    "walk": 5,
    "run": 6,
    "jump": 7,
    "fall": 8,
    "dance": 9,
    "carry": 10,
    "pick_up": 11,
    "throw": 12,
    "wave": 13,
    "clap": 14,
    "talk": 15,
    "listen": 16,
    "watch": 17,
    "shake": 18,
    "hug": 19,
    "push": 20,
}
POSE_CLASSES = tuple(c.action_id for c in CLASSES if c.cue == "pose")
MOTION_CLASSES = tuple(c.action_id for c in CLASSES if c.cue == "motion")


def action_id(short_name: str) -> int:
    """The id of a class by its short name (``"walk"`` -> 5)."""
    return _ID_BY_SHORT[short_name]


def short_name(action_id: int) -> str:
    """The short name of a class id (5 -> ``"walk"``)."""
    return next(k for k, v in _ID_BY_SHORT.items() if v == action_id)


def label_map() -> LabelMap:
    """The benchmark's label map (AVA pbtxt semantics: ids from 1, names, label types)."""
    return LabelMap(
        names={c.action_id: c.name for c in CLASSES},
        label_types={c.action_id: c.label_type for c in CLASSES},
    )
