"""Evaluation: AVA frame-mAP (official ActivityNet protocol and PySlowFast's), person AP, figures.

Reads CSVs only; never imports models or engine. The figure helpers (matplotlib) load lazily.
"""

from avaloc.evaluation.chance import shuffled_score_map
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
from avaloc.evaluation.person import PersonApResult, person_ap, person_ap_details
from avaloc.evaluation.reading import FileEvaluation, evaluate_files, read_box_table
from avaloc.evaluation.tables import BoxTable

_FIGURES = {
    "DEFAULT_THRESHOLDS",
    "SweepPoint",
    "attach_detector_scores",
    "plot_per_class_ap",
    "plot_threshold_sweep",
    "plot_two_runs",
    "sweep_table",
    "threshold_sweep",
}


def __getattr__(name: str):
    if name in _FIGURES:
        from avaloc.evaluation import figures

        return getattr(figures, name)
    raise AttributeError(f"module 'avaloc.evaluation' has no attribute {name!r}")


__all__ = [
    "OFFICIAL_CAPACITY",
    "PROTOCOLS",
    "BoxTable",
    "ClassResult",
    "FileEvaluation",
    "FrameMapResult",
    "IgnoredRows",
    "PersonApResult",
    "evaluate_files",
    "frame_map",
    "iou_pairs",
    "person_ap",
    "person_ap_details",
    "read_box_table",
    "shuffled_score_map",
    "voc_average_precision",
    *sorted(_FIGURES),
]
