"""Figures of a generated set, for docs/synthetic.md: class counts, co-occurrence, a montage.

All are computed from the written files (CSVs and decoded videos), like a user would see them.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from avaloc.fileio import atomic_path
from avaloc.formats import group_instances, read_ground_truth, read_label_map
from avaloc.synthetic.vocabulary import CLASSES, short_name


def read_all_rows(root: Path) -> pd.DataFrame:
    """Train and val ground truth of a generated set, in one table."""
    frames = [read_ground_truth(root / f"annotations/{s}.csv") for s in ("train", "val")]
    return pd.concat(frames, ignore_index=True)


def cooccurrence(rows: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """(C, C) counts of instances carrying both classes (diagonal: instances per class)."""
    hot = group_instances(rows).multi_hot([c.action_id for c in CLASSES]).astype(np.int64)
    return hot.T @ hot, [short_name(c.action_id) for c in CLASSES]


def plot_cooccurrence(rows: pd.DataFrame, path: str | os.PathLike) -> None:
    matrix, names = cooccurrence(rows)
    fig = Figure(figsize=(8.5, 7.5))
    ax = fig.subplots()
    shown = np.where(matrix > 0, np.log10(np.maximum(matrix, 1)), np.nan)
    image = ax.imshow(shown, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=70, fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            if matrix[i, j]:
                colour = "white" if shown[i, j] < np.nanmax(shown) * 0.6 else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=5, color=colour)
    fig.colorbar(image, ax=ax, label="log10 instances with both labels")
    ax.set_title("Label co-occurrence (empty: never together)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def plot_class_counts(rows: pd.DataFrame, path: str | os.PathLike) -> None:
    counts = group_instances(rows).class_counts()
    order = sorted(CLASSES, key=lambda c: -counts.get(c.action_id, 0))
    colours = {"pose": "tab:blue", "motion": "tab:orange", "context": "tab:green"}
    fig = Figure(figsize=(9, 3.8))
    ax = fig.subplots()
    ax.bar(
        range(len(order)),
        [counts.get(c.action_id, 0) for c in order],
        color=[colours[c.cue] for c in order],
    )
    ax.set_yscale("log")
    ax.set_xticks(range(len(order)), [short_name(c.action_id) for c in order], rotation=60)
    ax.set_ylabel("instances (train + val)")
    handles = [Rectangle((0, 0), 1, 1, color=v) for v in colours.values()]
    ax.legend(handles, [f"{k} cue" for k in colours], fontsize=8)
    ax.set_title("Instances per class: a long tail like AVA's")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def _decode_frame(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as container:
        for k, frame in enumerate(container.decode(video=0)):
            if k == index:
                return frame.to_ndarray(format="rgb24")
    raise ValueError(f"{path} has no frame {index}")


def plot_montage(
    root: Path, rows: pd.DataFrame, path: str | os.PathLike, tiles: int = 8, scale: int = 3
) -> None:
    """Decoded keyframes with the ground-truth boxes and short label names drawn."""
    instances = group_instances(rows)
    keyframes = list(instances.keyframe_slices())
    # Prefer busy keyframes with varied labels.
    scored = sorted(
        keyframes,
        key=lambda kv: (
            -len(set(instances.label_ids[instances.label_indptr[kv[1].start] :
                                         instances.label_indptr[kv[1].stop]].tolist())),
            kv[0],
        ),
    )  # fmt: skip
    chosen, videos = [], set()
    for key, rows_slice in scored:
        if key[0] not in videos:
            chosen.append((key, rows_slice))
            videos.add(key[0])
        if len(chosen) == tiles:
            break
    images = []
    for (video_id, timestamp), rows_slice in chosen:
        frame = _decode_frame(root / "videos" / f"{video_id}.mp4", timestamp * 30)
        h, w = frame.shape[:2]
        image = cv2.resize(frame, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
        for i in range(rows_slice.start, rows_slice.stop):
            x1, y1, x2, y2 = (instances.boxes[i] * [w, h, w, h] * scale).round().astype(int)
            colour = tuple(int(c) for c in np.random.default_rng(i).integers(60, 256, 3))
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
            names = [short_name(a) for a in instances.labels_of(i).tolist()]
            for k, name in enumerate(names):
                org = (x1 + 2, max(10, y1 + 12 + 12 * k))
                cv2.putText(image, name, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
                cv2.putText(image, name, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
        cv2.putText(
            image, f"{video_id} t={timestamp}", (4, h * scale - 6), cv2.FONT_HERSHEY_SIMPLEX,
            0.45, (255, 255, 255), 1,
        )  # fmt: skip
        images.append(image)
    while len(images) % 2:
        images.append(np.zeros_like(images[0]))
    half = len(images) // 2
    montage = np.vstack([np.hstack(images[:half]), np.hstack(images[half:])])
    with atomic_path(path) as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(montage, cv2.COLOR_RGB2BGR))


def write_figures(root: str | os.PathLike, out_dir: str | os.PathLike) -> list[Path]:
    """Write synthetic_{class_counts,cooccurrence,montage}.png for the set at ``root``."""
    root, out_dir = Path(root), Path(out_dir)
    read_label_map(root / "annotations/label_map.pbtxt")
    rows = read_all_rows(root)
    paths = [out_dir / f"synthetic_{n}.png" for n in ("class_counts", "cooccurrence", "montage")]
    plot_class_counts(rows, paths[0])
    plot_cooccurrence(rows, paths[1])
    plot_montage(root, rows, paths[2])
    return paths


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="figures of a synth set for docs/synthetic.md")
    parser.add_argument("root", help="a folder written by `avaloc synth`")
    parser.add_argument("out_dir", help="where to write synthetic_*.png (e.g. docs/images)")
    args = parser.parse_args()
    for path in write_figures(args.root, args.out_dir):
        print(path)


if __name__ == "__main__":
    main()
