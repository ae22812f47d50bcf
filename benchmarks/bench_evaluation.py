"""Frame-mAP speed on a set the size of AVA v2.2 val, against the line-by-line reference.

Generates (in a temp dir) 64 videos x 900 keyframes (57.6k), ~230k ground-truth rows, and a
dense prediction file of ~130k person boxes x 60 classes (~7.6M rows, ~400 MB), then times
``avaloc.evaluation.evaluate_files`` (file reading included) and the slow reference that
follows the official evaluator line by line (``tests/evaluation/official_reference.py``) on a
subset of videos, extrapolated linearly to the whole set.

    .venv/bin/python benchmarks/bench_evaluation.py [--reference-videos 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from avaloc.evaluation import evaluate_files, frame_map, read_box_table
from avaloc.formats import (
    read_detections,
    read_excluded_timestamps,
    read_label_map,
    write_excluded_timestamps,
    write_label_map,
)
from avaloc.seeding import numpy_generator

REPO = Path(__file__).resolve().parents[1]


def _write(table: pa.Table, path: Path) -> None:
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    pacsv.write_csv(table, path, write_options=options)


def generate(
    out_dir: Path,
    *,
    videos: int = 64,
    keyframes_per_video: int = 900,
    classes: int = 60,
    seed: int = 0,
) -> dict[str, Path]:
    """Write gt.csv, pred.csv, label_map.pbtxt, excluded.csv of an AVA-val-sized set."""
    rng = numpy_generator(seed, 8)  # stream 8: issue 8
    out_dir.mkdir(parents=True, exist_ok=True)
    class_ids = np.sort(rng.choice(np.arange(1, 81), classes, replace=False))
    write_label_map({int(c): f"action {c}" for c in class_ids}, out_dir / "label_map.pbtxt")
    names = np.array([f"{v:05d}bench{v * 7919 % 100000:05d}" for v in range(videos)])
    kf_video = np.repeat(np.arange(videos), keyframes_per_video)
    kf_time = np.tile(np.arange(902, 902 + keyframes_per_video), videos)
    boxes_per_kf = rng.poisson(1.3, len(kf_video)) + 1
    box_kf = np.repeat(np.arange(len(kf_video)), boxes_per_kf)
    n_boxes = len(box_kf)
    x1 = rng.random(n_boxes) * 0.6
    y1 = rng.random(n_boxes) * 0.4
    boxes = np.stack(
        [x1, y1, x1 + 0.1 + rng.random(n_boxes) * 0.3, y1 + 0.3 + rng.random(n_boxes) * 0.3], 1
    ).round(3)
    # Ground truth: 1-3 labels per box, long-tailed class frequencies (like AVA).
    frequency = 1.0 / np.arange(1, classes + 1) ** 1.1
    frequency /= frequency.sum()
    labels_per_box = rng.choice([1, 2, 3], n_boxes, p=[0.45, 0.35, 0.2])
    gt_box = np.repeat(np.arange(n_boxes), labels_per_box)
    gt_class = rng.choice(classes, len(gt_box), p=frequency)
    _write(
        pa.table(
            {
                "video_id": names[kf_video[box_kf[gt_box]]],
                "timestamp": kf_time[box_kf[gt_box]],
                **{c: boxes[gt_box, k] for k, c in enumerate(("x1", "y1", "x2", "y2"))},
                "action_id": class_ids[gt_class],
                "person_id": gt_box % 50,
            }
        ),
        out_dir / "gt.csv",
    )
    # Predictions: one jittered detection per person box, scored for every class.
    det = (boxes + rng.normal(0, 0.02, boxes.shape)).clip(0, 1).round(3)
    det[:, 2:] = np.maximum(det[:, 2:], det[:, :2] + 0.01)
    row_box = np.repeat(np.arange(n_boxes), classes)
    row_class = np.tile(np.arange(classes), n_boxes)
    positive = np.zeros((n_boxes, classes), dtype=bool)
    positive[gt_box, gt_class] = True
    scores = rng.random(len(row_box)) ** 4 + 0.5 * positive.reshape(-1) * rng.random(len(row_box))
    _write(
        pa.table(
            {
                "video_id": names[kf_video[box_kf[row_box]]],
                "timestamp": kf_time[box_kf[row_box]],
                **{c: det[row_box, k] for k, c in enumerate(("x1", "y1", "x2", "y2"))},
                "action_id": class_ids[row_class],
                "score": scores.clip(0, 1).round(6),
            }
        ),
        out_dir / "pred.csv",
    )
    excluded = {(str(names[v]), int(902 + k)) for v in range(videos) for k in (0, 450)}
    write_excluded_timestamps(excluded, out_dir / "excluded.csv")
    return {
        "gt": out_dir / "gt.csv",
        "pred": out_dir / "pred.csv",
        "label_map": out_dir / "label_map.pbtxt",
        "excluded": out_dir / "excluded.csv",
    }


def _subset_rows(path: Path, videos: set[str]) -> list[list[str]]:
    with open(path, newline="") as handle:
        return [row for row in csv.reader(handle) if row[0] in videos]


def time_reference(files: dict[str, Path], n_videos: int, total_videos: int) -> float:
    """Seconds the line-by-line reference takes on ``n_videos`` videos, scaled to all."""
    sys.path.insert(0, str(REPO / "tests" / "evaluation"))
    from official_reference import official_reference

    label_map = dict(read_label_map(files["label_map"]))
    excluded = read_excluded_timestamps(files["excluded"])
    with open(files["gt"], newline="") as handle:
        first = {row[0] for row in csv.reader(handle)}
    videos = set(sorted(first)[:n_videos])
    start = time.perf_counter()
    gt = _subset_rows(files["gt"], videos)
    pred = _subset_rows(files["pred"], videos)
    official_reference(gt, pred, label_map, excluded)
    return (time.perf_counter() - start) * total_videos / n_videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=64)
    parser.add_argument("--keyframes-per-video", type=int, default=900)
    parser.add_argument("--reference-videos", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--formats-reader", action="store_true", help="also time avaloc.formats.read_detections"
    )
    parser.add_argument("--keep", type=Path, help="write the set here instead of a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        start = time.perf_counter()
        files = generate(out, videos=args.videos, keyframes_per_video=args.keyframes_per_video)
        size = files["pred"].stat().st_size / 1e6
        print(f"generated in {time.perf_counter() - start:.1f} s: pred.csv {size:.0f} MB")
        walls, cpus = [], []
        for _ in range(args.repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            evaluation = evaluate_files(
                files["gt"], files["pred"], files["label_map"], files["excluded"]
            )
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        result = evaluation.result
        print(
            f"rows: {evaluation.gt_rows} GT, {evaluation.pred_rows} predictions; "
            f"mAP {result.mAP:.4f}; replayed keyframes {result.replayed_keyframes}"
        )
        print(
            f"avaloc evaluate_files: best wall {min(walls):.2f} s (all: "
            + ", ".join(f"{w:.2f}" for w in walls)
            + f"), CPU {min(cpus):.2f} s"
        )
        wall, cpu = time.perf_counter(), time.process_time()
        gt_table = read_box_table(files["gt"], "gt")
        pred_table = read_box_table(files["pred"], "pred")
        read_wall, read_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        excluded = read_excluded_timestamps(files["excluded"])
        label_map = read_label_map(files["label_map"])
        frame_map(gt_table, pred_table, label_map, excluded)
        eval_wall, eval_cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"  of which reading both CSVs {read_wall:.2f} s (CPU {read_cpu:.2f} s), "
            f"frame_map {eval_wall:.2f} s (CPU {eval_cpu:.2f} s)"
        )
        slowfast = frame_map(gt_table, pred_table, label_map, excluded, "pyslowfast")
        print(f"protocol pyslowfast on the same files: mAP {slowfast.mAP:.4f}")
        if args.formats_reader:
            wall, cpu = time.perf_counter(), time.process_time()
            read_detections(files["pred"])
            print(
                f"formats.read_detections of pred.csv: {time.perf_counter() - wall:.2f} s "
                f"(CPU {time.process_time() - cpu:.2f} s)"
            )
        reference = time_reference(files, args.reference_videos, args.videos)
        print(
            f"line-by-line reference: {reference:.1f} s extrapolated from "
            f"{args.reference_videos} of {args.videos} videos"
        )
        print(f"speed-up: {reference / min(walls):.0f}x (wall)")


if __name__ == "__main__":
    main()
