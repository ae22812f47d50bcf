"""Reading and writing AVA CSV files: ground truth, detections/predictions, excluded timestamps.

Fast path: pyarrow's multithreaded CSV reader with fixed column types, then vectorised checks.
Only when pyarrow rejects a file does a line-by-line pass run, to name the exact line and field
that is wrong. Both ``.csv`` and ``.csv.gz`` are read and written transparently.

Row tables are pandas DataFrames with these columns (``KEY_COLUMNS`` first):

* ground truth: ``video_id`` (str), ``timestamp`` (int64), ``x1 y1 x2 y2`` (float64, normalized),
  ``action_id`` (int64), ``person_id`` (int64, -1 when empty);
* detections: the same box columns, ``action_id`` (-1 for class-agnostic person boxes) and
  ``score`` (float64).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from avaloc.errors import InputError
from avaloc.fileio import atomic_write

BOX_COLUMNS = ["x1", "y1", "x2", "y2"]
KEY_COLUMNS = ["video_id", "timestamp"]
GT_COLUMNS = [*KEY_COLUMNS, *BOX_COLUMNS, "action_id", "person_id"]
DETECTION_COLUMNS = [*KEY_COLUMNS, *BOX_COLUMNS, "action_id", "score"]
EXCLUDED_COLUMNS = KEY_COLUMNS

Policy = Literal["error", "skip", "keep"]
_BOX_EPS = 1e-6  # tolerance for boxes a hair outside [0, 1] from float formatting


@dataclass
class ReadReport:
    """What a reader dropped or noticed; printed by the CLI, never silent."""

    path: str
    rows: int = 0
    skipped_unknown_action: int = 0
    skipped_duplicates: int = 0
    unknown_action_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.rows} rows"]
        if self.skipped_unknown_action:
            ids = ", ".join(map(str, self.unknown_action_ids[:10]))
            parts.append(
                f"{self.skipped_unknown_action} rows skipped with action ids outside the "
                f"label map ({ids}{', ...' if len(self.unknown_action_ids) > 10 else ''})"
            )
        if self.skipped_duplicates:
            parts.append(f"{self.skipped_duplicates} duplicate rows skipped")
        return f"{self.path}: " + "; ".join(parts)


# ----------------------------------------------------------------------------- slow path
def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _field_kinds(kind: str) -> list[tuple[str, str]]:
    if kind == "gt":
        return [
            ("video_id", "str"),
            ("timestamp", "int"),
            *[(c, "float") for c in BOX_COLUMNS],
            ("action_id", "int"),
            ("person_id", "int?"),
        ]
    if kind == "detections":
        return [
            ("video_id", "str"),
            ("timestamp", "int"),
            *[(c, "float") for c in BOX_COLUMNS],
            ("action_id", "int?"),
            ("score", "float"),
        ]
    return [("video_id", "str"), ("timestamp", "int")]


def _diagnose(path: Path, kind: str) -> InputError:
    """Scan the file line by line and describe the first malformed line."""
    fields = _field_kinds(kind)
    try:
        with _open_text(path) as handle:
            for line_no, row in enumerate(csv.reader(handle), start=1):
                if not row:
                    return InputError("empty line", path=path, line=line_no)
                if len(row) != len(fields):
                    return InputError(
                        f"expected {len(fields)} columns "
                        f"({','.join(n for n, _ in fields)}), found {len(row)}",
                        path=path,
                        line=line_no,
                    )
                for (name, field_kind), value in zip(fields, row):
                    value = value.strip()
                    if field_kind == "str":
                        if not value:
                            return InputError(f"empty {name}", path=path, line=line_no)
                        continue
                    if field_kind.endswith("?") and value == "":
                        continue
                    try:
                        number = float(value)
                    except ValueError:
                        return InputError(
                            f"{name} {value!r} is not a number", path=path, line=line_no
                        )
                    if field_kind.startswith("int") and (
                        not number.is_integer() or "." in value or "e" in value.lower()
                    ):
                        return InputError(
                            f"{name} {value!r} is not an integer", path=path, line=line_no
                        )
    except UnicodeDecodeError:
        return InputError("not UTF-8 text", path=path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return InputError(f"cannot read file ({exc})", path=path)
    except csv.Error as exc:
        return InputError(f"malformed CSV ({exc})", path=path)
    return InputError("malformed CSV (pyarrow rejected it; no bad line found)", path=path)


# ----------------------------------------------------------------------------- fast path
def _arrow_read(path: Path, kind: str) -> pa.Table:
    fields = _field_kinds(kind)
    names = [name for name, _ in fields]
    types = {
        name: (pa.string() if k == "str" else pa.int64() if k.startswith("int") else pa.float64())
        for name, k in fields
    }
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, EOFError, UnicodeDecodeError):
        if _is_empty(path):
            return pa.table({name: pa.array([], type=types[name]) for name in names})
        raise _diagnose(path, kind) from None


def _is_empty(path: Path) -> bool:
    """True for a file without content (plain or gzip-compressed)."""
    try:
        with _open_text(path) as handle:
            return not handle.read(1 << 16).strip()
    except (OSError, EOFError, UnicodeDecodeError):
        return False


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if not path.is_file():
        raise InputError("not a file", path=path)
    return path


def _first_bad(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return None if hits.size == 0 else int(hits[0])


def _validate_common(frame: pd.DataFrame, path: Path, kind: str) -> None:
    """Vectorised semantic checks; the error names the first offending line (1-based)."""
    empty_video = frame["video_id"].to_numpy() == ""
    if (row := _first_bad(empty_video)) is not None:
        raise InputError("empty video_id", path=path, line=row + 1)
    if (row := _first_bad(frame["timestamp"].to_numpy() < 0)) is not None:
        raise InputError(
            f"timestamp {frame['timestamp'].iat[row]} is negative", path=path, line=row + 1
        )
    boxes = frame[BOX_COLUMNS].to_numpy()
    finite = np.isfinite(boxes).all(axis=1)
    if (row := _first_bad(~finite)) is not None:
        raise InputError("box has a non-finite coordinate", path=path, line=row + 1)
    outside = ((boxes < -_BOX_EPS) | (boxes > 1 + _BOX_EPS)).any(axis=1)
    if (row := _first_bad(outside)) is not None:
        raise InputError(
            f"box {_fmt_box(boxes[row])} is outside [0, 1] (coordinates must be "
            "normalized by the frame size)",
            path=path,
            line=row + 1,
        )
    degenerate = (boxes[:, 0] >= boxes[:, 2]) | (boxes[:, 1] >= boxes[:, 3])
    if (row := _first_bad(degenerate)) is not None:
        raise InputError(
            f"box {_fmt_box(boxes[row])} has x1 >= x2 or y1 >= y2", path=path, line=row + 1
        )
    if kind == "detections":
        scores = frame["score"].to_numpy()
        if (row := _first_bad(~np.isfinite(scores))) is not None:
            raise InputError("score is not finite", path=path, line=row + 1)


def _fmt_box(box: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:g}" for v in box) + ")"


def _apply_label_map(
    frame: pd.DataFrame,
    path: Path,
    label_ids: Iterable[int] | None,
    on_unknown: Policy,
    report: ReadReport,
    allow_agnostic: bool,
) -> pd.DataFrame:
    if label_ids is None:
        return frame
    known = np.fromiter(label_ids, dtype=np.int64)
    actions = frame["action_id"].to_numpy()
    unknown = ~np.isin(actions, known)
    if allow_agnostic:
        unknown &= actions != -1
    if not unknown.any():
        return frame
    if on_unknown == "error":
        row = _first_bad(unknown)
        raise InputError(
            f"action id {actions[row]} is not in the label map", path=path, line=row + 1
        )
    report.skipped_unknown_action = int(unknown.sum())
    report.unknown_action_ids = sorted(set(actions[unknown].tolist()))
    return frame.loc[~unknown]


def _apply_duplicates(
    frame: pd.DataFrame, path: Path, on_duplicate: Policy, report: ReadReport
) -> pd.DataFrame:
    if on_duplicate == "keep":
        return frame
    duplicated = frame.duplicated(keep="first").to_numpy()
    if not duplicated.any():
        return frame
    if on_duplicate == "error":
        row = _first_bad(duplicated)
        first = _first_bad((frame == frame.iloc[row]).all(axis=1).to_numpy())
        raise InputError(f"duplicate row (same as line {first + 1})", path=path, line=row + 1)
    report.skipped_duplicates = int(duplicated.sum())
    return frame.loc[~duplicated]


def _to_frame(table: pa.Table, path: Path, nullable: tuple[str, ...] = ()) -> pd.DataFrame:
    """Convert to pandas after checking that only ``nullable`` columns have empty fields."""
    for name in table.column_names:
        column = table.column(name)
        if name not in nullable and column.null_count:
            row = _first_bad(column.is_null().to_numpy(zero_copy_only=False))
            raise InputError(f"empty {name}", path=path, line=row + 1)
    frame = table.to_pandas()
    if "video_id" in frame:
        frame["video_id"] = frame["video_id"].astype(object)
    return frame


def read_ground_truth(
    path: str | os.PathLike,
    *,
    label_ids: Iterable[int] | None = None,
    on_unknown_action: Policy = "error",
    on_duplicate: Policy = "error",
    report: ReadReport | None = None,
) -> pd.DataFrame:
    """Read an AVA ground-truth CSV ``video_id,timestamp,x1,y1,x2,y2,action_id,person_id``.

    ``label_ids`` (e.g. ``label_map.ids``) enables the unknown-action check: ``"error"`` raises on
    the first row with an id outside it, ``"skip"`` drops such rows and counts them in ``report``.
    Exact duplicate rows are an error by default (``"skip"`` drops, ``"keep"`` keeps them).
    """
    path = _check_path(path)
    report = report if report is not None else ReadReport(str(path))
    frame = _to_frame(_arrow_read(path, "gt"), path, nullable=("person_id",))
    _validate_common(frame, path, "gt")
    frame["person_id"] = frame["person_id"].fillna(-1).astype(np.int64)
    frame["action_id"] = frame["action_id"].astype(np.int64)
    if (row := _first_bad(frame["action_id"].to_numpy() < 1)) is not None:
        raise InputError(
            f"action id {frame['action_id'].iat[row]} must be >= 1", path=path, line=row + 1
        )
    frame = _apply_duplicates(frame, path, on_duplicate, report)
    frame = _apply_label_map(frame, path, label_ids, on_unknown_action, report, False)
    report.rows = len(frame)
    return frame.reset_index(drop=True)


def read_detections(
    path: str | os.PathLike,
    *,
    label_ids: Iterable[int] | None = None,
    on_unknown_action: Policy = "error",
    on_duplicate: Policy = "keep",
    report: ReadReport | None = None,
) -> pd.DataFrame:
    """Read an AVA detection/prediction CSV ``video_id,timestamp,x1,y1,x2,y2,action_id,score``.

    An empty action_id (person boxes, ``...,y2,,score``) becomes -1, the class-agnostic marker.
    """
    path = _check_path(path)
    report = report if report is not None else ReadReport(str(path))
    frame = _to_frame(_arrow_read(path, "detections"), path, nullable=("action_id",))
    _validate_common(frame, path, "detections")
    frame["action_id"] = frame["action_id"].fillna(-1).astype(np.int64)
    frame = _apply_duplicates(frame, path, on_duplicate, report)
    frame = _apply_label_map(frame, path, label_ids, on_unknown_action, report, True)
    report.rows = len(frame)
    return frame.reset_index(drop=True)


def read_excluded_timestamps(path: str | os.PathLike) -> set[tuple[str, int]]:
    """Read ``video_id,timestamp`` rows (AVA's excluded-timestamps CSV) as a set of keyframes."""
    path = _check_path(path)
    if path.stat().st_size == 0:
        return set()
    frame = _to_frame(_arrow_read(path, "excluded"), path)
    _validate_keys(frame, path)
    return set(zip(frame["video_id"].tolist(), frame["timestamp"].tolist()))


def _validate_keys(frame: pd.DataFrame, path: Path) -> None:
    if (row := _first_bad(frame["video_id"].to_numpy() == "")) is not None:
        raise InputError("empty video_id", path=path, line=row + 1)
    if (row := _first_bad(frame["timestamp"].to_numpy() < 0)) is not None:
        raise InputError("timestamp is negative", path=path, line=row + 1)


# ----------------------------------------------------------------------------- writers
def _format_timestamps(timestamps: np.ndarray) -> np.ndarray:
    return np.char.zfill(timestamps.astype(np.int64).astype(str), 4)


def _write_rows(path: str | os.PathLike, columns: list[np.ndarray]) -> None:
    lines = columns[0].astype(object)
    for column in columns[1:]:
        lines = lines + "," + column.astype(object)
    with atomic_write(path) as handle:
        if len(lines):
            handle.write("\n".join(lines.tolist()))
            handle.write("\n")


def _format_floats(values: np.ndarray, decimals: int) -> np.ndarray:
    return np.char.mod(f"%.{decimals}f", values.astype(np.float64))


def write_ground_truth(
    frame: pd.DataFrame, path: str | os.PathLike, *, box_decimals: int = 3
) -> None:
    """Write an AVA ground-truth CSV (AVA's own formatting: 4-digit timestamps, 3 decimals)."""
    _require_columns(frame, GT_COLUMNS)
    person = frame["person_id"].to_numpy().astype(np.int64)
    _write_rows(
        path,
        [
            frame["video_id"].to_numpy().astype(str),
            _format_timestamps(frame["timestamp"].to_numpy()),
            *[_format_floats(frame[c].to_numpy(), box_decimals) for c in BOX_COLUMNS],
            frame["action_id"].to_numpy().astype(np.int64).astype(str),
            np.where(person < 0, "", person.astype(str)),
        ],
    )


def write_detections(
    frame: pd.DataFrame, path: str | os.PathLike, *, box_decimals: int = 3, score_decimals: int = 6
) -> None:
    """Write an AVA detection/prediction CSV; action_id -1 is written empty (person boxes)."""
    _require_columns(frame, DETECTION_COLUMNS)
    actions = frame["action_id"].to_numpy().astype(np.int64)
    _write_rows(
        path,
        [
            frame["video_id"].to_numpy().astype(str),
            _format_timestamps(frame["timestamp"].to_numpy()),
            *[_format_floats(frame[c].to_numpy(), box_decimals) for c in BOX_COLUMNS],
            np.where(actions < 0, "", actions.astype(str)),
            _format_floats(frame["score"].to_numpy(), score_decimals),
        ],
    )


def write_excluded_timestamps(
    keyframes: Iterable[tuple[str, int]], path: str | os.PathLike
) -> None:
    """Write ``video_id,timestamp`` rows, sorted, timestamps zero-padded to 4 digits."""
    with atomic_write(path) as handle:
        for video_id, timestamp in sorted(keyframes):
            handle.write(f"{video_id},{int(timestamp):04d}\n")


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")


def empty_ground_truth() -> pd.DataFrame:
    """An empty ground-truth table with the right dtypes."""
    return pd.DataFrame(
        {
            "video_id": pd.Series([], dtype=object),
            "timestamp": pd.Series([], dtype=np.int64),
            **{c: pd.Series([], dtype=np.float64) for c in BOX_COLUMNS},
            "action_id": pd.Series([], dtype=np.int64),
            "person_id": pd.Series([], dtype=np.int64),
        }
    )
