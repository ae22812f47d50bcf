"""Fast reading of AVA CSVs straight into :class:`BoxTable` columns, and ``evaluate_files``.

Why not ``avaloc.formats.read_detections``: it returns a pandas table whose video ids are 7.6M
Python strings, which costs more than the whole evaluation. Here pyarrow parses the file with
the video id dictionary-encoded (64 distinct strings, int32 codes) and 32-bit integers, and the
columns go to numpy without a copy per row. The checks are the same as the formats readers'
(and name the line); on a file pyarrow rejects, the formats reader is asked to name the exact
line and field that is wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from avaloc.errors import InputError
from avaloc.evaluation.frame_map import FrameMapResult, Protocol, frame_map
from avaloc.evaluation.tables import BoxTable
from avaloc.formats import (
    LabelMap,
    read_detections,
    read_excluded_timestamps,
    read_ground_truth,
    read_label_map,
)

_BOX_EPS = 1e-6
_NAMES = {
    "gt": ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"],
    "pred": ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "score"],
}


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("file not found", path=path)
    if not path.is_file():
        raise InputError("not a file", path=path)
    if path.stat().st_size == 0:
        raise InputError("empty file (no rows)", path=path)


def _arrow_table(path: Path, kind: str) -> pa.Table:
    names = _NAMES[kind]
    floats = {c: pa.float64() for c in ("x1", "y1", "x2", "y2", "score")}
    types = {
        "video_id": pa.dictionary(pa.int32(), pa.string()),
        "timestamp": pa.int64(),
        "action_id": pa.int64(),
        "person_id": pa.int64(),
        **floats,
    }
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: types[n] for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, EOFError, UnicodeDecodeError):
        # Let the formats reader find and name the first malformed line.
        (read_ground_truth if kind == "gt" else read_detections)(path, on_duplicate="keep")
        raise InputError("malformed CSV", path=path) from None


def _numpy(table: pa.Table, name: str, dtype: type, path: Path) -> np.ndarray:
    column = table.column(name)
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"empty {name}", path=path, line=row + 1)
    return column.to_numpy().astype(dtype, copy=False)


def _box_columns(table: pa.Table, path: Path) -> np.ndarray:
    """(N, 4) view of a column-major copy: one copy of the parsed chunks, no stacking."""
    out = np.empty((4, table.num_rows), dtype=np.float64)
    for index, name in enumerate(("x1", "y1", "x2", "y2")):
        column = table.column(name)
        if column.null_count:
            _numpy(table, name, np.float64, path)
        offset = 0
        for chunk in column.chunks:
            out[index, offset : offset + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            offset += len(chunk)
    return out.T


def read_box_table(path: str | os.PathLike, kind: str) -> BoxTable:
    """Read a ground-truth (``kind="gt"``) or prediction (``"pred"``) CSV into a BoxTable.

    Prediction rows with an empty action id (person boxes) get action -1. Ground-truth rows
    are kept as they are, duplicates included (the official evaluator counts each one).
    """
    path = Path(path)
    _check_file(path)
    table = _arrow_table(path, kind)
    video = table.column("video_id").combine_chunks()
    if video.null_count:
        row = int(np.flatnonzero(video.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError("empty video_id", path=path, line=row + 1)
    codes = video.indices.to_numpy()
    names = np.asarray(video.dictionary.to_pylist(), dtype=object)
    if (empty := np.flatnonzero(names == "")).size:
        row = int(np.flatnonzero(codes == empty[0])[0])
        raise InputError("empty video_id", path=path, line=row + 1)
    timestamps = _numpy(table, "timestamp", np.int64, path)
    boxes = _box_columns(table, path)
    action_column = table.column("action_id")
    if kind == "pred":
        if action_column.null_count:
            action_column = action_column.fill_null(-1)
        actions = action_column.to_numpy().astype(np.int64, copy=False)
        scores = _numpy(table, "score", np.float64, path)
    else:
        actions = _numpy(table, "action_id", np.int64, path)
        scores = None
    _check_values(path, kind, timestamps, boxes, actions, scores)
    return BoxTable(codes, names, timestamps, boxes, actions, scores)


def _check_values(
    path: Path,
    kind: str,
    timestamps: np.ndarray,
    boxes: np.ndarray,
    actions: np.ndarray,
    scores: np.ndarray | None,
) -> None:
    def fail(mask: np.ndarray, what: str) -> None:
        hits = np.flatnonzero(mask)
        if hits.size:
            raise InputError(what.format(row=int(hits[0])), path=path, line=int(hits[0]) + 1)

    if len(timestamps) == 0:
        return
    if timestamps.min() < 0 or timestamps.max() >= 2**31:
        fail(timestamps < 0, "negative timestamp")
        fail(timestamps >= 2**31, "timestamp too large")
    low, high = boxes.min(), boxes.max()  # NaN propagates: one pass for the common case
    if not (low >= -_BOX_EPS and high <= 1 + _BOX_EPS):
        fail(~np.isfinite(boxes).all(axis=1), "box has a non-finite coordinate")
        fail(
            ((boxes < -_BOX_EPS) | (boxes > 1 + _BOX_EPS)).any(axis=1),
            "box is outside [0, 1] (coordinates must be normalized by the frame size)",
        )
    if kind == "gt":
        fail(
            (boxes[:, 0] >= boxes[:, 2]) | (boxes[:, 1] >= boxes[:, 3]), "box has x1>=x2 or y1>=y2"
        )
        fail(actions < 1, "action id must be >= 1")
    if scores is not None and not np.isfinite(scores.sum()):
        fail(~np.isfinite(scores), "score is not finite")


@dataclass(frozen=True)
class FileEvaluation:
    """``evaluate_files``'s answer: the result plus what was read."""

    result: FrameMapResult
    gt_rows: int
    pred_rows: int
    label_map: LabelMap

    @property
    def mAP(self) -> float:
        return self.result.mAP

    @property
    def per_class(self) -> dict:
        return self.result.per_class


def evaluate_files(
    gt_path: str | os.PathLike,
    pred_path: str | os.PathLike,
    label_map_path: str | os.PathLike,
    excluded_path: str | os.PathLike | None = None,
    *,
    protocol: Protocol = "official",
) -> FileEvaluation:
    """Frame-mAP of a prediction CSV against a ground-truth CSV (the ``avaloc evaluate`` API)."""
    label_map = read_label_map(label_map_path)
    excluded = read_excluded_timestamps(excluded_path) if excluded_path else set()
    gt = read_box_table(gt_path, "gt")
    pred = read_box_table(pred_path, "pred")
    check_label_map_overlap(gt, label_map, gt_path)
    result = frame_map(gt, pred, label_map, excluded, protocol)
    return FileEvaluation(result, len(gt), len(pred), label_map)


def check_label_map_overlap(gt: BoxTable, label_map: LabelMap, gt_path: object) -> None:
    """A label map sharing no class with the ground truth is a user error, not mAP = NaN."""
    present = np.unique(gt.actions)
    if not np.isin(present, np.array(label_map.ids)).any():
        shown = ", ".join(map(str, present[:10].tolist()))
        raise InputError(
            f"the label map shares no class with the ground truth (its action ids: {shown}"
            f"{', ...' if len(present) > 10 else ''})",
            path=os.fspath(gt_path),
        )
