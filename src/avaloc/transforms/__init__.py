"""Box-aware clip augmentation (torchvision transforms v2 + ``tv_tensors.BoundingBoxes``),
normalisation, and the SlowFast pathway split."""

from avaloc.transforms.clip import (
    PYSLOWFAST_MEAN,
    PYSLOWFAST_STD,
    TestTransform,
    TrainTransform,
    TransformedClip,
    clip_boxes,
    color_jitter,
    crop,
    horizontal_flip,
    normalize,
    pack_pathway,
    short_side_scale,
    to_boxes,
    to_video,
    valid_boxes,
)

__all__ = [
    "PYSLOWFAST_MEAN",
    "PYSLOWFAST_STD",
    "TestTransform",
    "TrainTransform",
    "TransformedClip",
    "clip_boxes",
    "color_jitter",
    "crop",
    "horizontal_flip",
    "normalize",
    "pack_pathway",
    "short_side_scale",
    "to_boxes",
    "to_video",
    "valid_boxes",
]
