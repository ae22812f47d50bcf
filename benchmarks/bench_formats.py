"""Reading speed of AVA ground truth at the size of AVA v2.2 train.

Uses the real ``ava_train_v2.2.csv`` when given (``--gt PATH``), otherwise generates a file of the
same shape (235 videos x 897 keyframes, ~840k rows, AVA-like labels per box). Prints the time of
``read_ground_truth`` (pyarrow + vectorised validation), of grouping into instances, and the ratio
against a baseline in the same process: pandas' default C reader with the same dtypes and no
validation.

    .venv/bin/python benchmarks/bench_formats.py [--gt ava_train_v2.2.csv] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from avaloc.formats import group_instances, read_ground_truth, write_ground_truth


def generate_train_like(
    path: Path, seed: int = 0, videos: int = 235, keyframes_per_video: int = 897
) -> int:
    """Write an AVA-v2.2-train-shaped GT CSV; returns its number of rows."""
    rng = np.random.default_rng(seed)
    video_ids = [f"{'-_a'[i % 3]}vid{i:07d}x" for i in range(videos)]
    persons = rng.choice([1, 1, 1, 1, 2], size=videos * keyframes_per_video)
    n_boxes = int(persons.sum())
    keyframe = np.repeat(np.arange(videos * keyframes_per_video), persons)
    video = keyframe // keyframes_per_video
    timestamp = 902 + keyframe % keyframes_per_video
    x1 = rng.uniform(0, 0.7, n_boxes).round(3)
    y1 = rng.uniform(0, 0.5, n_boxes).round(3)
    x2 = np.minimum(1.0, x1 + rng.uniform(0.05, 0.3, n_boxes)).round(3)
    y2 = np.minimum(1.0, y1 + rng.uniform(0.2, 0.5, n_boxes)).round(3)
    person_id = np.arange(n_boxes) % 7
    labels = rng.choice([3, 4, 5, 5], size=n_boxes)  # ~3 labels per box like AVA
    owner = np.repeat(np.arange(n_boxes), labels)
    zipf = rng.zipf(1.6, size=len(owner))
    action = 1 + (zipf - 1) % 80
    frame = pd.DataFrame(
        {
            "video_id": np.asarray(video_ids, dtype=object)[video[owner]],
            "timestamp": timestamp[owner],
            "x1": x1[owner],
            "y1": y1[owner],
            "x2": x2[owner],
            "y2": y2[owner],
            "action_id": action,
            "person_id": person_id[owner],
        }
    ).drop_duplicates()
    write_ground_truth(frame, path)
    return len(frame)


def timed(function, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=Path, help="the real ava_train_v2.2.csv (optional)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.gt is not None:
            path, source = args.gt, "real AVA v2.2 train"
        else:
            path, source = Path(tmp) / "train_like.csv", "generated, AVA v2.2 train shape"
            start = time.perf_counter()
            rows = generate_train_like(path)
            print(f"generated {rows:,} rows in {time.perf_counter() - start:.1f} s")
        size_mb = path.stat().st_size / 1e6
        read_s, rows = timed(lambda: read_ground_truth(path), args.repeat)
        group_s, instances = timed(lambda: group_instances(rows), args.repeat)
        names = ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"]
        base_s, _ = timed(
            lambda: pd.read_csv(path, header=None, names=names, dtype={"video_id": str}),
            args.repeat,
        )
        print(f"file: {source}, {size_mb:.1f} MB, {len(rows):,} rows, {len(instances):,} instances")
        table = [
            ("read_ground_truth (pyarrow + validation)", read_s),
            ("group_instances", group_s),
            ("read + group", read_s + group_s),
            ("baseline: pandas.read_csv (C, no checks)", base_s),
        ]
        print(f"{'step':<44}{'seconds':>9}{'rows/s':>14}")
        for name, seconds in table:
            print(f"{name:<44}{seconds:>9.3f}{len(rows) / seconds:>14,.0f}")
        print(
            f"ratio baseline / avaloc read: {base_s / read_s:.2f}x  (budget: <= 3 s for the read)"
        )


if __name__ == "__main__":
    main()
