"""Person-detector speed on this CPU: images/s per backbone on 640x360 frames, and HOG.

    .venv/bin/python benchmarks/bench_detect.py [--images 3] [--backbones ...] [--sizes 360 800]
        [--threads N]

Each torchvision detector (random weights: speed does not depend on them, except through the
number of boxes reaching NMS, which ``rpn_post_nms_top_n_test`` bounds) runs at ``min_size``
360 (the frame's own size, no upscaling) and at torchvision's default 800; HOG runs with its
PETS-tuned defaults (3x upscale). One warm-up image, then the mean over ``--images`` images.
Ratios are against MobileNetV3-FPN at 360 in the same process. On a shared machine the figures
move with the load: the script prints the 1-minute load average next to them.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from avaloc.detect import DetectorConfig, HogDetector, TorchvisionDetector, build_detector

BACKBONES = ["mobilenet_v3_large_fpn", "resnet50_fpn", "resnext101_32x8d_fpn"]


def _frames(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (360, 640, 3), dtype=np.uint8) for _ in range(count)]


def images_per_second(detector, frames: list[np.ndarray]) -> float:
    detector.detect(frames[:1])
    start = time.perf_counter()
    for frame in frames:
        detector.detect([frame])
    return len(frames) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--backbones", nargs="+", default=BACKBONES)
    parser.add_argument("--sizes", nargs="+", type=int, default=[360, 800])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    frames = _frames(args.images)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    results: dict[str, float] = {}
    for size in args.sizes:
        for backbone in args.backbones:
            cfg = DetectorConfig(
                backbone=backbone, min_size=size, max_size=max(size * 16 // 9, 640)
            )
            detector = TorchvisionDetector(build_detector(cfg))
            results[f"{backbone}@{size}"] = images_per_second(detector, frames)
    results["hog (3x upscale)"] = images_per_second(HogDetector(), frames)
    base = results.get(f"mobilenet_v3_large_fpn@{args.sizes[0]}")
    print(f"{'detector':<34} {'images/s':>9} {'s/image':>8} {'vs mnv3':>8}")
    for name, speed in results.items():
        ratio = f"{speed / base:8.2f}" if base else "       -"
        print(f"{name:<34} {speed:9.3f} {1 / speed:8.2f} {ratio}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
