"""Fixtures: short generated videos of figures with exact person boxes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from avaloc.formats import write_ground_truth
from detect.people import write_people_video


@pytest.fixture
def people_data(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """(video_dir, gt_csv, gt_rows) of two short generated videos with 2 and 3 figures."""
    video_dir = tmp_path / "videos"
    rows = pd.concat(
        [
            write_people_video(video_dir, "clip_a", people=2),
            write_people_video(video_dir, "clip_b", people=3, seconds=4),
        ],
        ignore_index=True,
    )
    gt_csv = tmp_path / "gt.csv"
    write_ground_truth(rows, gt_csv, box_decimals=4)
    return video_dir, gt_csv, rows
