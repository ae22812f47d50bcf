"""Training-step speed on this CPU: fp32 vs bf16 autocast (should bf16 be a CPU default?).

Times full SGD steps (forward, BCE loss, backward, optimizer) of a detection SlowFast on random
clips with 3 boxes per clip, fp32 and bf16 autocast alternately in the same process (medians, so
a shared machine's load hits both alike), and prints clips/s and the ratio.
Usage: python benchmarks/bench_train.py [--model NAME] [--size 112] [--frames 8] [--steps 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
from torch.nn import functional as F

from avaloc.engine.config import OptimConfig
from avaloc.engine.optim import build_optimizer
from avaloc.models import ModelConfig, build_model
from avaloc.seeding import torch_generator

AMPS = ("fp32", "bf16")


def make_batch(batch: int, frames: int, size: int, alpha: int, classes: int):
    generator = torch_generator(0)
    fast = torch.randn(batch, 3, frames, size, size, generator=generator)
    slow = fast[:, :, ::alpha].contiguous()
    boxes = []
    for b in range(batch):
        for k in range(3):
            x1 = 4.0 + 10 * k
            boxes.append([b, x1, 8.0, x1 + size / 2, size - 8.0])
    labels = (torch.rand(len(boxes), classes, generator=generator) < 0.1).float()
    return [slow, fast], torch.tensor(boxes), labels


def make_step(model, optimizer, inputs, boxes, labels, amp: str):
    def step() -> None:
        context = (
            torch.autocast("cpu", dtype=torch.bfloat16)
            if amp == "bf16"
            else contextlib.nullcontext()
        )
        with context:
            logits = model(inputs, boxes)
        loss = F.binary_cross_entropy_with_logits(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def interleaved_seconds(steps: dict, rounds: int) -> dict[str, float]:
    """Median seconds per step of each variant, timed alternately (fair on a shared machine)."""
    for step in steps.values():
        step()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="slowfast_r50_w8_detection")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--frames", type=int, default=8, help="fast-pathway frames")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    config = ModelConfig(name=args.model, num_classes=20)
    model = build_model(config, generator=torch_generator(0))
    model.train()
    optimizer = build_optimizer(model, OptimConfig(base_lr=0.01))
    inputs, boxes, labels = make_batch(args.batch, args.frames, args.size, 4, 20)
    print(
        f"{args.model}, batch {args.batch}, {args.frames} fast frames at {args.size} px, "
        f"{torch.get_num_threads()} threads"
    )
    steps = {amp: make_step(model, optimizer, inputs, boxes, labels, amp) for amp in AMPS}
    seconds = interleaved_seconds(steps, args.steps)
    for amp in AMPS:
        print(
            f"  {amp}: {seconds[amp] * 1000:8.1f} ms/step  {args.batch / seconds[amp]:7.2f} clips/s"
        )
    print(f"  bf16 / fp32 speed ratio: {seconds['fp32'] / seconds['bf16']:.2f}x")


if __name__ == "__main__":
    main()
