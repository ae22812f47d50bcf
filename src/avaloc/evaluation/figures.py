"""Figures and tables of evaluation results (matplotlib, no display needed).

* :func:`plot_per_class_ap`: one run's per-class AP bars;
* :func:`plot_two_runs`: two runs side by side, classes sorted by training frequency (the
  report's Figure 1: baseline vs with augmentation);
* :func:`threshold_sweep` + :func:`plot_threshold_sweep` + :func:`sweep_table`: frame-mAP when
  only person boxes with detector score >= t are kept (the report's Table 1).

How the detector score travels: the prediction CSV stays AVA's 8 columns (its score is the
action score). The person detections that the predictions were made on are a second AVA CSV
(``video_id,timestamp,x1,y1,x2,y2,,score`` with an empty action id), as ``avaloc detect``
writes it; :func:`attach_detector_scores` joins the two on (video, timestamp, box) into a
``det_score`` column, which :func:`threshold_sweep` filters on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from avaloc.errors import InputError
from avaloc.evaluation.frame_map import FrameMapResult, Protocol, frame_map
from avaloc.fileio import atomic_path
from avaloc.formats import BOX_COLUMNS

DEFAULT_THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(10))


def _save(figure: Figure, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=150, bbox_inches="tight")


def _ap_or_nan(result: FrameMapResult, class_id: int) -> float:
    entry = result.per_class.get(class_id)
    return float("nan") if entry is None or entry.ap is None else entry.ap


def plot_per_class_ap(
    result: FrameMapResult, path: str | os.PathLike, *, title: str | None = None
) -> None:
    """Bar chart of per-class AP (classes with ground truth, by descending AP)."""
    rows = sorted(
        ((c, r) for c, r in result.per_class.items() if r.ap is not None), key=lambda cr: -cr[1].ap
    )
    figure = Figure(figsize=(max(6.0, 0.22 * len(rows)), 4.5))
    axes = figure.subplots()
    axes.bar(range(len(rows)), [r.ap for _, r in rows], color="tab:blue")
    axes.set_xticks(range(len(rows)), [r.name for _, r in rows], rotation=90, fontsize=7)
    axes.set_ylabel("AP@0.5")
    axes.set_ylim(0, 1)
    axes.set_title(title or f"per-class AP, frame-mAP {result.mAP:.4f}")
    _save(figure, path)


def plot_two_runs(
    first: FrameMapResult,
    second: FrameMapResult,
    train_counts: Mapping[int, int],
    path: str | os.PathLike,
    *,
    labels: tuple[str, str] = ("baseline", "with augmentation"),
) -> None:
    """Per-class AP of two runs side by side, classes ordered by training frequency."""
    ids = [c for c in first.per_class if first.per_class[c].ap is not None]
    ids.sort(key=lambda c: (-train_counts.get(c, 0), c))
    positions = np.arange(len(ids))
    figure = Figure(figsize=(max(7.0, 0.26 * len(ids)), 4.8))
    axes = figure.subplots()
    for offset, result, label, color in (
        (-0.2, first, labels[0], "tab:gray"),
        (0.2, second, labels[1], "tab:orange"),
    ):
        values = [_ap_or_nan(result, c) for c in ids]
        axes.bar(
            positions + offset, values, 0.4, label=f"{label} (mAP {result.mAP:.4f})", color=color
        )
    names = [f"{first.per_class[c].name} ({train_counts.get(c, 0)})" for c in ids]
    axes.set_xticks(positions, names, rotation=90, fontsize=7)
    axes.set_ylabel("AP@0.5")
    axes.set_ylim(0, 1)
    axes.set_xlabel("class (training instances), most frequent first")
    axes.legend()
    _save(figure, path)


def attach_detector_scores(pred_rows: pd.DataFrame, det_rows: pd.DataFrame) -> pd.DataFrame:
    """``pred_rows`` with a ``det_score`` column: the score of the detection with its box.

    Boxes are joined on exact (video_id, timestamp, x1, y1, x2, y2) after rounding to 4
    decimals (both files are written by avaloc with 3). A prediction box without a detection
    is an error: the files are not from the same run.
    """
    keys = ["video_id", "timestamp", *BOX_COLUMNS]
    dets = det_rows[[*keys, "score"]].rename(columns={"score": "det_score"})
    dets[BOX_COLUMNS] = dets[BOX_COLUMNS].round(4)
    dets = dets.groupby(keys, sort=False, as_index=False)["det_score"].max()
    left = pred_rows.copy()
    rounded = left[BOX_COLUMNS].round(4)
    joined = pd.concat([left[["video_id", "timestamp"]], rounded], axis=1).merge(
        dets, on=keys, how="left"
    )
    missing = joined["det_score"].isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"prediction row {row + 1}: box {tuple(rounded.iloc[row])} of "
            f"{left['video_id'].iat[row]} at {left['timestamp'].iat[row]} is not among the "
            "person detections"
        )
    left["det_score"] = joined["det_score"].to_numpy()
    return left


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    mAP: float
    boxes: int  # distinct person boxes kept
    rows: int  # prediction rows kept


def threshold_sweep(
    gt_rows: pd.DataFrame,
    pred_rows_with_det_scores: pd.DataFrame,
    label_map: Mapping[int, str],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    excluded: Iterable[tuple[str, int]] = (),
    protocol: Protocol = "official",
) -> list[SweepPoint]:
    """Frame-mAP keeping only predictions whose person box has ``det_score >= t``."""
    frame = pred_rows_with_det_scores
    if "det_score" not in frame.columns:
        raise InputError("prediction rows lack a det_score column (see attach_detector_scores)")
    excluded = list(excluded)
    det_scores = frame["det_score"].to_numpy(dtype=np.float64)
    points = []
    for threshold in thresholds:
        kept = frame.loc[det_scores >= threshold]
        result = frame_map(gt_rows, kept, label_map, excluded, protocol)
        boxes = len(kept[["video_id", "timestamp", *BOX_COLUMNS]].drop_duplicates())
        points.append(SweepPoint(float(threshold), result.mAP, boxes, len(kept)))
    return points


def sweep_table(points: Sequence[SweepPoint]) -> str:
    """The sweep as a Markdown table."""
    lines = [
        "| detector score >= | frame-mAP | person boxes | prediction rows |",
        "|---|---|---|---|",
    ]
    for p in points:
        lines.append(f"| {p.threshold:.1f} | {p.mAP:.4f} | {p.boxes} | {p.rows} |")
    return "\n".join(lines)


def plot_threshold_sweep(points: Sequence[SweepPoint], path: str | os.PathLike) -> None:
    """frame-mAP against the detector score threshold."""
    figure = Figure(figsize=(5.5, 3.8))
    axes = figure.subplots()
    axes.plot([p.threshold for p in points], [p.mAP for p in points], marker="o")
    best = max(points, key=lambda p: -1 if p.mAP != p.mAP else p.mAP)
    axes.annotate(
        f"{best.mAP:.4f}",
        (best.threshold, best.mAP),
        textcoords="offset points",
        xytext=(0, 6),
        ha="center",
    )
    axes.set_xlabel("person detector score threshold")
    axes.set_ylabel("frame-mAP@0.5")
    axes.grid(alpha=0.3)
    _save(figure, path)
