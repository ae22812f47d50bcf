"""Sanity check that the benchmark needs time: one frame vs a short clip, same small learner.

For every ground-truth instance, the person's box (enlarged by 25 %, so that motion stays in view)
is cropped from the decoded video at several frames around the keyframe and resized to 48x24.
Two copies of the same small CNN are trained with the same budget on the train split:

* ``one_frame``: the keyframe crop only (3 channels);
* ``clip``: the crops at offsets ``CLIP_OFFSETS`` frames (3 x 5 channels, early fusion).

Per-class average precision on the val split (ground-truth boxes, so detection plays no part)
is then averaged over the pose classes and over the motion classes. The benchmark needs time
when the one-frame model is clearly worse on motion classes than on pose classes, and the clip
model closes much of that gap.

    python -m avaloc.synthetic.sanity DIR [--epochs 10] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from torch import nn

from avaloc.fileio import atomic_path
from avaloc.formats import group_instances, read_ground_truth
from avaloc.seeding import torch_generator
from avaloc.synthetic.vocabulary import CLASSES, MOTION_CLASSES, POSE_CLASSES, short_name

CLIP_OFFSETS = (-20, -10, 0, 10, 20)
CROP_SIZE = (24, 48)  # width, height


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def extract_crops(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, 3, H, W) uint8 crops at ``CLIP_OFFSETS`` and (N, C) multi-hot labels."""
    instances = group_instances(read_ground_truth(root / f"annotations/{split}.csv"))
    labels = instances.multi_hot([c.action_id for c in CLASSES])
    crops = np.zeros((len(instances), len(CLIP_OFFSETS), 3, CROP_SIZE[1], CROP_SIZE[0]), np.uint8)
    current, frames = None, None
    for index in range(len(instances)):
        video_id = str(instances.video_ids[index])
        if video_id != current:
            current, frames = video_id, _decode(root / "videos" / f"{video_id}.mp4")
        assert frames is not None
        height, width = frames.shape[1:3]
        x1, y1, x2, y2 = instances.boxes[index] * [width, height, width, height]
        cx, cy, half_w, half_h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * 0.625, (y2 - y1) * 0.625
        # Keep the crop's aspect (1:2) so that figures are not stretched by pose.
        half_w = max(half_w, half_h / 2)
        half_h = max(half_h, half_w * 2)
        box = np.array([cx - half_w, cy - half_h, cx + half_w, cy + half_h])
        key = int(instances.timestamps[index]) * 30
        for k, offset in enumerate(CLIP_OFFSETS):
            frame = frames[min(max(key + offset, 0), len(frames) - 1)]
            sx, sy = CROP_SIZE[0] / (box[2] - box[0]), CROP_SIZE[1] / (box[3] - box[1])
            transform = np.array([[sx, 0, -box[0] * sx], [0, sy, -box[1] * sy]])
            crop = cv2.warpAffine(frame, transform, CROP_SIZE, borderMode=cv2.BORDER_REPLICATE)
            crops[index, k] = crop.transpose(2, 0, 1)
    return crops, labels


def _model(in_channels: int, num_classes: int) -> nn.Module:
    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)
        )

    return nn.Sequential(
        block(in_channels, 24),
        block(24, 48),
        block(48, 64),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(64, num_classes),
    )


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Non-interpolated AP (the area under the precision-recall steps); NaN without positives."""
    if positives.sum() == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = positives[order].astype(np.float64)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def _inputs(crops: np.ndarray, frames: tuple[int, ...]) -> torch.Tensor:
    selected = crops[:, list(frames)]
    n, t, c, h, w = selected.shape
    return torch.from_numpy(selected.reshape(n, t * c, h, w)).float().div_(255.0).sub_(0.5)


def train_and_score(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    frames: tuple[int, ...],
    *,
    epochs: int,
    seed: int,
) -> np.ndarray:
    """Per-class val AP of the small CNN trained on the crops at ``frames`` (indices)."""
    x_train, y_train = _inputs(train[0], frames), torch.from_numpy(train[1]).float()
    x_val = _inputs(val[0], frames)
    with torch.random.fork_rng():  # seeded parameter init without touching the caller's RNG
        torch.manual_seed(seed)
        model = _model(x_train.shape[1], y_train.shape[1])
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = epochs * ((len(x_train) + 63) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    generator = torch_generator(seed, 0)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            inputs = x_train[batch]
            if torch.rand(1, generator=generator).item() < 0.5:
                inputs = inputs.flip(-1)
            loss = loss_fn(model(inputs), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        scores = torch.cat([model(x_val[i : i + 256]) for i in range(0, len(x_val), 256)])
    scores_np = scores.sigmoid().numpy()
    return np.array([average_precision(scores_np[:, k], val[1][:, k]) for k in range(len(CLASSES))])


def _cached_crops(root: Path, split: str, cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    if cache is None:
        return extract_crops(root, split)
    path = cache / f"sanity_crops_{split}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["crops"], data["labels"]
    crops, labels = extract_crops(root, split)
    cache.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        np.savez(tmp, crops=crops, labels=labels)
    return crops, labels


def run(root: Path, *, epochs: int = 10, seed: int = 0, cache: Path | None = None) -> dict:
    """Train both variants and return per-class APs and the pose/motion means."""
    started = time.perf_counter()
    train, val = _cached_crops(root, "train", cache), _cached_crops(root, "val", cache)
    print(f"crops: train {len(train[0])}, val {len(val[0])}", flush=True)
    centre = CLIP_OFFSETS.index(0)
    variants = {"one_frame": (centre,), "clip": tuple(range(len(CLIP_OFFSETS)))}
    result: dict = {"instances": {"train": len(train[0]), "val": len(val[0])}, "epochs": epochs}
    for name, frames in variants.items():
        ap = train_and_score(train, val, frames, epochs=epochs, seed=seed)
        print(f"{name}: done after {time.perf_counter() - started:.0f} s", flush=True)
        per_class = {short_name(c.action_id): ap[k] for k, c in enumerate(CLASSES)}
        pose = [per_class[short_name(i)] for i in POSE_CLASSES]
        motion = [per_class[short_name(i)] for i in MOTION_CLASSES]
        result[name] = {
            "per_class_ap": per_class,
            "pose_mean_ap": float(np.nanmean(pose)),
            "motion_mean_ap": float(np.nanmean(motion)),
        }
    result["seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="one-frame vs clip sanity check of a synth set")
    parser.add_argument("root", type=Path)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cache", type=Path, help="keep the extracted crops here (npz)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args()
    result = run(args.root, epochs=args.epochs, seed=args.seed, cache=args.cache)
    for name in ("one_frame", "clip"):
        r = result[name]
        print(f"{name:10s} pose mAP {r['pose_mean_ap']:.3f}  motion mAP {r['motion_mean_ap']:.3f}")
    print(f"{'class':12s} {'one_frame':>10s} {'clip':>8s}")
    for c in CLASSES:
        n = short_name(c.action_id)
        print(
            f"{n:12s} {result['one_frame']['per_class_ap'][n]:10.3f} "
            f"{result['clip']['per_class_ap'][n]:8.3f}  ({c.cue})"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
