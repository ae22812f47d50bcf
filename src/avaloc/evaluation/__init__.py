"""Evaluation: AVA frame-mAP (official ActivityNet protocol and PySlowFast's), person AP, figures.

Reads CSVs only; never imports models or engine.
"""

from avaloc.evaluation.frame_map import (
    OFFICIAL_CAPACITY,
    PROTOCOLS,
    ClassResult,
    FrameMapResult,
    IgnoredRows,
    frame_map,
    iou_pairs,
    voc_average_precision,
)
from avaloc.evaluation.tables import BoxTable

__all__ = [
    "OFFICIAL_CAPACITY",
    "PROTOCOLS",
    "BoxTable",
    "ClassResult",
    "FrameMapResult",
    "IgnoredRows",
    "frame_map",
    "iou_pairs",
    "voc_average_precision",
]
