"""The synthetic AVA miniature: rendered videos of articulated figures, in AVA's own formats.

``generate_dataset(out_dir, preset, seed)`` writes videos, ground truth, label map, excluded
timestamps, a clip-classification split and a README. See docs/synthetic.md.
"""

from avaloc.synthetic.dataset import PRESETS, Preset, generate_dataset, video_ids
from avaloc.synthetic.vocabulary import (
    CLASSES,
    MOTION_CLASSES,
    POSE_CLASSES,
    ActionClass,
    action_id,
    label_map,
)

__all__ = [
    "CLASSES",
    "MOTION_CLASSES",
    "POSE_CLASSES",
    "PRESETS",
    "ActionClass",
    "Preset",
    "action_id",
    "generate_dataset",
    "label_map",
    "video_ids",
]
