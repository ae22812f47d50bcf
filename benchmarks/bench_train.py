"""Training-step speed on this CPU: fp32 vs bf16 autocast (should bf16 be a CPU default?).

Times full SGD steps (forward, BCE loss, backward, optimizer) of a detection SlowFast on random
clips with 3 boxes per clip, fp32 then bf16 autocast in the same process, and prints clips/s and
the ratio. Usage: python benchmarks/bench_train.py [--model NAME] [--size 112] [--frames 8]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch
from torch.nn import functional as F

from avaloc.engine.config import OptimConfig
from avaloc.engine.optim import build_optimizer
from avaloc.models import ModelConfig, build_model
from avaloc.seeding import torch_generator


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


def time_steps(model, optimizer, inputs, boxes, labels, amp: str, steps: int) -> float:
    context = (
        torch.autocast("cpu", dtype=torch.bfloat16) if amp == "bf16" else contextlib.nullcontext()
    )

    def step() -> None:
        with context:
            logits = model(inputs, boxes)
        loss = F.binary_cross_entropy_with_logits(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


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
    seconds = {}
    for amp in ("fp32", "bf16"):
        seconds[amp] = time_steps(model, optimizer, inputs, boxes, labels, amp, args.steps)
        print(
            f"  {amp}: {seconds[amp] * 1000:8.1f} ms/step  {args.batch / seconds[amp]:7.2f} clips/s"
        )
    print(f"  bf16 / fp32 speed ratio: {seconds['fp32'] / seconds['bf16']:.2f}x")


if __name__ == "__main__":
    main()
