"""Helpers for the evaluation tests: small tables built from tuples."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

GT_NAMES = ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id"]
PRED_NAMES = [*GT_NAMES, "score"]


def gt_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=GT_NAMES)
    frame["person_id"] = -1
    return frame.astype({"timestamp": "int64", "action_id": "int64"})


def pred_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=PRED_NAMES)
    return frame.astype({"timestamp": "int64", "action_id": "int64", "score": "float64"})
