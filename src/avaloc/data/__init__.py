"""Datasets, samplers and collate functions for AVA keyframe detection and clip classification.

``AvaDataset`` (keyframe clips + person boxes + multi-hot labels, an explicit sample list and a
label-transform hook for the balancing stage), ``collate_detection``, ``AspectRatioBatchSampler``,
``ClipClassificationDataset`` + ``collate_classification``, and ``check_dataset`` (a pass over a
dataset that reports missing/corrupt videos and out-of-range timestamps before training).
"""

from avaloc.data.ava import (
    AvaDataset,
    Sample,
    SkipCounter,
    build_test_transform,
    build_train_transform,
    clip_around,
)
from avaloc.data.boxes import KeyframeBoxes, build_keyframe_boxes, transfer_labels
from avaloc.data.check import CheckReport, VideoInfo, check_dataset
from avaloc.data.classification import ClipClassificationDataset, read_clip_list
from avaloc.data.collate import (
    AspectRatioBatchSampler,
    collate_classification,
    collate_detection,
    stack_padded,
)
from avaloc.data.config import DataConfig
from avaloc.data.sources import VideoSources

__all__ = [
    "AspectRatioBatchSampler",
    "AvaDataset",
    "CheckReport",
    "ClipClassificationDataset",
    "DataConfig",
    "KeyframeBoxes",
    "Sample",
    "SkipCounter",
    "VideoInfo",
    "VideoSources",
    "build_keyframe_boxes",
    "build_test_transform",
    "build_train_transform",
    "check_dataset",
    "clip_around",
    "collate_classification",
    "collate_detection",
    "read_clip_list",
    "stack_padded",
    "transfer_labels",
]
