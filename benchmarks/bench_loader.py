"""Training-loader throughput (clips/s) with 0, 1 and 2 workers, next to the model's speed.

Reads the synthetic AVA miniature (``--root`` of a generated set, or generates ``--preset``
into a temporary folder; the ``small`` and ``default`` presets share the 224x168 frame size,
so the per-clip figures of one hold for the other). The loader is ``AvaDataset`` (train split,
PySlowFast 32x2 clips, short side to {224, 256, 320}, 224 crop, flip) + ``collate_detection``.
A per-stage breakdown (decode vs. transform) shows where a clip's time goes, and the model line
gives ``avaloc.models`` SlowFast forward (and forward+backward) clips/s on the same batches.

    .venv/bin/python benchmarks/bench_loader.py [--root DIR | --preset small] [--batches 6]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from avaloc.data import AvaDataset, DataConfig, clip_around, collate_detection
from avaloc.video import clear_video_cache


def loader_rate(dataset: AvaDataset, workers: int, batch_size: int, batches: int) -> float:
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        collate_fn=collate_detection,
        generator=torch.Generator().manual_seed(0),
    )
    iterator = iter(loader)
    next(iterator)  # start-up (worker spawn, first open) is not counted
    start = time.perf_counter()
    clips = 0
    for _ in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            break
        clips += batch["inputs"][0].shape[0]
    return clips / (time.perf_counter() - start)


def breakdown(dataset: AvaDataset, count: int) -> tuple[float, float]:
    """(decode ms, transform ms) per clip, single process."""
    decode = transform = 0.0
    for index in range(count):
        video_id, timestamp = dataset.keyframes[index % len(dataset)]
        source = dataset.sources.open(video_id)
        t0 = time.perf_counter()
        frames = clip_around(source, timestamp, dataset.config, start_second=0.0)
        t1 = time.perf_counter()
        dataset.transform(frames, None, dataset.generator(index))
        t2 = time.perf_counter()
        decode += t1 - t0
        transform += t2 - t1
    return decode / count * 1000, transform / count * 1000


def model_rate(batch: dict, name: str, num_classes: int, backward: bool, repeats: int) -> float:
    from avaloc.models import ModelConfig, build_model

    model = build_model(ModelConfig(name=name, num_classes=num_classes))
    model.train(backward)
    inputs, boxes = batch["inputs"], batch["boxes"]
    start = time.perf_counter()
    for _ in range(repeats):
        if backward:
            model(inputs, boxes).sum().backward()
        else:
            with torch.no_grad():
                model(inputs, boxes)
    return repeats * inputs[0].shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="a generated synthetic set (else one is generated)")
    parser.add_argument("--preset", default="small", help="preset to generate without --root")
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="*", default=["slowfast_r50_w8_detection"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root) if args.root else None
        if root is None:
            from avaloc.synthetic import generate_dataset

            start = time.perf_counter()
            root = generate_dataset(Path(tmp) / "set", args.preset, 0, progress=False)
            print(f"generated preset {args.preset!r} in {time.perf_counter() - start:.0f} s")
        config = DataConfig(root=str(root))
        dataset = AvaDataset(config, "train", seed=0)
        print(
            f"{root}: {len(dataset)} train keyframes; clips {config.num_frames}x"
            f"{config.sampling_rate} (alpha {config.alpha}), scales {config.train_scales}, "
            f"crop {config.train_crop_size}; batch {args.batch_size}; 1 torch thread per process"
        )
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (other work competes)")
        decode_ms, transform_ms = breakdown(dataset, 12)
        print(
            f"per clip (1 process): decode {decode_ms:.1f} ms, transform {transform_ms:.1f} ms "
            f"-> {1000 / (decode_ms + transform_ms):.1f} clips/s"
        )
        base = None
        for workers in args.workers:
            clear_video_cache()
            rate = loader_rate(dataset, workers, args.batch_size, args.batches)
            base = base or rate
            print(
                f"loader, {workers} workers: {rate:6.1f} clips/s ({rate / base:.2f}x of 0 workers)"
            )
        batch = collate_detection([dataset[i] for i in range(args.batch_size)])
        for name in args.models:
            for backward in (False, True):
                rate = model_rate(batch, name, len(dataset.class_ids), backward, repeats=2)
                what = "forward+backward" if backward else "forward (no grad)"
                print(f"model {name}, {what}: {rate:6.2f} clips/s")


if __name__ == "__main__":
    main()
