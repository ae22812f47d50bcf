"""RoIAlign forward + backward on this CPU: torchvision's kernel vs avaloc's embedding bag.

    .venv/bin/python benchmarks/bench_roi_align.py [--repeats 5] [--threads N]

Three settings: the quickstart detector's box head (4 images, 256 RoIs, 256 channels, a
stride-8 map of a 224x168 frame, 2x2 samples), the slim SlowFast RoI head (32 RoIs, 288
channels, 8x8 map, adaptive sampling, aligned) and the full-width R50 head (32 RoIs, 2304
channels, 14x14, adaptive, aligned). Then whole detector training steps (the quickstart's
embedded configuration) with each pooler. Ratios are torchvision's time over ours, measured in
the same process; the 1-minute load average is printed because a shared machine moves them.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable

import torch
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops import roi_align as tv_roi_align

from avaloc.models.roi_align import roi_align


def _seconds(step: Callable[[], None], repeats: int) -> float:
    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def _op_case(name, op, features, rois, sampling_ratio, aligned, scale, repeats) -> float:
    def step() -> None:
        leaf = features.detach().requires_grad_(True)
        out = op(leaf, rois, 7, scale, sampling_ratio, aligned)
        out.sum().backward()

    seconds = _seconds(step, repeats)
    print(f"  {name:12s} {seconds * 1000:8.1f} ms forward+backward")
    return seconds


def _random_rois(count: int, batch: int, width: float, height: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(count, 2, generator=generator) * torch.tensor([width * 0.7, height * 0.5])
    wh = torch.rand(count, 2, generator=generator) * torch.tensor([width * 0.3, height * 0.5]) + 8
    index = torch.randint(0, batch, (count, 1), generator=generator).float()
    return torch.cat([index, xy, xy + wh], dim=1)


def op_settings(repeats: int) -> None:
    settings = [
        ("detector box head", (4, 256, 21, 28), 256, 2, False, 1 / 8, (224, 168)),
        ("slim SlowFast head", (8, 288, 8, 8), 32, 0, True, 1 / 16, (128, 128)),
        ("full R50 head", (8, 2304, 14, 14), 32, 0, True, 1 / 16, (224, 224)),
    ]
    for name, shape, count, ratio, aligned, scale, (width, height) in settings:
        features = torch.randn(shape)
        rois = _random_rois(count, shape[0], width, height)
        print(f"{name}: features {tuple(shape)}, {count} RoIs, sampling_ratio {ratio}")
        ref = _op_case("torchvision", tv_roi_align, features, rois, ratio, aligned, scale, repeats)
        ours = _op_case("avaloc", roi_align, features, rois, ratio, aligned, scale, repeats)
        print(f"  ratio        {ref / ours:8.1f}x")


def _train_step(model, optimizer, images, targets) -> None:
    torch.manual_seed(1)
    losses = model(images, targets)
    optimizer.zero_grad()
    sum(losses.values()).backward()
    optimizer.step()


def detector_steps(repeats: int) -> None:
    from avaloc.detect.models import build_detector
    from avaloc.pipeline.quickstart import load_quickstart_config

    cfg = load_quickstart_config().detector
    generator = torch.Generator().manual_seed(0)
    images = [torch.rand(3, 168, 224, generator=generator) for _ in range(cfg.train.batch_size)]
    targets = []
    for _ in images:
        boxes = _random_rois(6, 1, 224, 168)[:, 1:]
        targets.append({"boxes": boxes, "labels": torch.ones(6, dtype=torch.int64)})
    print(f"detector training step, batch {len(images)} at 224x168 (quickstart configuration)")
    times = {}
    for name in ("torchvision", "avaloc"):
        torch.manual_seed(0)
        model = build_detector(cfg)
        if name == "torchvision":
            pooler = model.roi_heads.box_roi_pool
            model.roi_heads.box_roi_pool = MultiScaleRoIAlign(
                pooler.featmap_names, pooler.output_size, pooler.sampling_ratio
            )
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
        step = functools.partial(_train_step, model, optimizer, images, targets)
        times[name] = _seconds(step, repeats)
        print(f"  {name:12s} {times[name] * 1000:8.1f} ms per step")
    print(f"  ratio        {times['torchvision'] / times['avaloc']:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    op_settings(args.repeats)
    detector_steps(args.repeats)


if __name__ == "__main__":
    main()
