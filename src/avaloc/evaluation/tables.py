"""Columnar box tables for evaluation: what frame-mAP and person AP consume.

A :class:`BoxTable` holds the rows of an AVA CSV (ground truth or detections) as numpy columns,
with video ids dictionary-encoded (``video_codes`` index ``video_names``). Keeping the ids as
small integers is what makes a 7.6M-row prediction file cheap to group by keyframe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from avaloc.errors import InputError
from avaloc.formats import BOX_COLUMNS


@dataclass(frozen=True)
class BoxTable:
    """AVA rows as columns; ``boxes`` are normalized ``x1 y1 x2 y2``; ``scores`` None for GT."""

    video_codes: np.ndarray  # (N,) integer index into video_names
    video_names: np.ndarray  # (V,) object, str
    timestamps: np.ndarray  # (N,) int64
    boxes: np.ndarray  # (N, 4) float64
    actions: np.ndarray  # (N,) int64, -1 for class-agnostic rows
    scores: np.ndarray | None = None  # (N,) float64

    def __len__(self) -> int:
        return len(self.timestamps)

    @classmethod
    def from_rows(cls, rows: pd.DataFrame | BoxTable, *, what: str) -> BoxTable:
        """Accept a formats-style DataFrame (GT or detection columns) or a BoxTable."""
        if isinstance(rows, BoxTable):
            return rows
        needed = ["video_id", "timestamp", *BOX_COLUMNS, "action_id"]
        missing = [c for c in needed if c not in rows.columns]
        if missing:
            raise InputError(f"{what} rows lack the columns {missing}")
        codes, names = pd.factorize(rows["video_id"], sort=False)
        timestamps = rows["timestamp"].to_numpy()
        if not np.issubdtype(timestamps.dtype, np.integer):
            as_int = timestamps.astype(np.int64)
            if not np.array_equal(as_int, timestamps):
                raise InputError(f"{what} rows have non-integer timestamps")
            timestamps = as_int
        scores = None
        if "score" in rows.columns:
            scores = rows["score"].to_numpy(dtype=np.float64)
        table = cls(
            video_codes=codes.astype(np.int64),
            video_names=np.asarray(names, dtype=object),
            timestamps=timestamps.astype(np.int64),
            boxes=rows[BOX_COLUMNS].to_numpy(dtype=np.float64).reshape(-1, 4),
            actions=rows["action_id"].to_numpy(dtype=np.int64),
            scores=scores,
        )
        table.validate(what)
        return table

    def validate(self, what: str) -> None:
        """Checks the evaluator relies on; the error names the first bad row (0-based)."""
        if (bad := _first(self.timestamps < 0)) is not None:
            raise InputError(f"{what} row {bad}: negative timestamp {self.timestamps[bad]}")
        if (bad := _first(self.timestamps >= 2**31)) is not None:
            raise InputError(f"{what} row {bad}: timestamp {self.timestamps[bad]} is too large")
        if (bad := _first(~np.isfinite(self.boxes).all(axis=1))) is not None:
            raise InputError(f"{what} row {bad}: box has a non-finite coordinate")
        if self.scores is not None and (bad := _first(~np.isfinite(self.scores))) is not None:
            raise InputError(f"{what} row {bad}: score is not finite")

    def select(self, rows: np.ndarray) -> BoxTable:
        return BoxTable(
            self.video_codes[rows],
            self.video_names,
            self.timestamps[rows],
            self.boxes[rows],
            self.actions[rows],
            None if self.scores is None else self.scores[rows],
        )


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return None if hits.size == 0 else int(hits[0])


def unify_videos(*tables: BoxTable) -> tuple[list[np.ndarray], np.ndarray]:
    """Re-code the video ids of several tables into one shared code space."""
    names = pd.unique(np.concatenate([t.video_names for t in tables] + [np.zeros(0, object)]))
    lookup = {name: index for index, name in enumerate(names.tolist())}
    codes = []
    for table in tables:
        remap = np.array([lookup[n] for n in table.video_names.tolist()], dtype=np.int64)
        identity = np.array_equal(remap, np.arange(len(remap)))
        codes.append(table.video_codes if identity else remap[table.video_codes])
    return codes, np.asarray(names, dtype=object)


def keyframe_keys(video_codes: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """One int64 per (video, integer timestamp): the official image key ``"%s,%04d"``."""
    keys = np.left_shift(video_codes, 32, dtype=np.int64)
    return np.bitwise_or(keys, timestamps, out=keys, dtype=np.int64)


def excluded_keys(excluded: Iterable[tuple[str, int]], video_names: np.ndarray) -> np.ndarray:
    """Keys of the excluded keyframes whose video appears in the evaluated files."""
    lookup = {name: index for index, name in enumerate(video_names.tolist())}
    keys = [
        (lookup[str(video)] << 32) | int(timestamp)
        for video, timestamp in excluded
        if str(video) in lookup
    ]
    return np.array(sorted(set(keys)), dtype=np.int64)
