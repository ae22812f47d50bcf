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
from avaloc.evaluation.reading import FileEvaluation, evaluate_files, read_box_table
from avaloc.evaluation.tables import BoxTable

__all__ = [
    "OFFICIAL_CAPACITY",
    "PROTOCOLS",
    "BoxTable",
    "ClassResult",
    "FileEvaluation",
    "FrameMapResult",
    "IgnoredRows",
    "evaluate_files",
    "frame_map",
    "iou_pairs",
    "read_box_table",
    "voc_average_precision",
]
