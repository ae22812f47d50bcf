"""Forward speed and FLOPs of SlowFast with the RoI head on this CPU, and what helps.

    .venv/bin/python benchmarks/bench_models.py                      # the report's table
    .venv/bin/python benchmarks/bench_models.py --inputs 5x20@224 --modes fp32,bf16 --iters 5

For each input (slow x fast frames @ square side; one clip, 3 boxes) it counts FLOPs with
``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add is 2 FLOPs; PySlowFast/fvcore
"GFLOPs" count multiply-adds, i.e. half of these), then times the forward pass (eval,
``torch.no_grad``) in several modes and prints clips/s, the ratio to the first mode (fp32) in the
same process (the modes take turns in each timing round), and the largest logit difference:

* ``fp32``: the baseline, contiguous (NCDHW) tensors;
* ``channels_last``: model and inputs in ``torch.channels_last_3d``;
* ``bf16``: ``torch.autocast("cpu", dtype=torch.bfloat16)``;
* ``bf16_channels_last``: both;
* ``compile``: ``torch.compile(model)`` (compile time excluded, reported as set-up time; it is
  minutes on this CPU, so it is not in the default modes: ``--modes fp32,compile``).

The CPU of the development machine is shared with other jobs: timings are the median of a few
iterations and can move by tens of percent from run to run; the ratios, measured back to back,
are steadier than the absolute figures.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch.utils.flop_counter import FlopCounterMode

from avaloc.models import ModelConfig, build_model, count_parameters
from avaloc.seeding import torch_generator

MODES = ("fp32", "channels_last", "bf16", "bf16_channels_last", "compile")
DEFAULT_MODES = MODES[:4]
DEFAULT_INPUTS = ("5x20@224", "5x20@256", "8x32@224", "8x32@256")
BOXES_PER_CLIP = 3


def parse_input(spec: str) -> tuple[int, int, int]:
    frames, side = spec.split("@")
    slow, fast = frames.split("x")
    return int(slow), int(fast), int(side)


def make_inputs(slow_t: int, fast_t: int, side: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    generator = torch_generator(0)
    slow = torch.randn(1, 3, slow_t, side, side, generator=generator)
    fast = torch.randn(1, 3, fast_t, side, side, generator=generator)
    boxes = torch.tensor(
        [[0, 0.1, 0.1, 0.5, 0.9], [0, 0.4, 0.2, 0.8, 0.95], [0, 0.05, 0.3, 0.3, 0.7]]
    )[:BOXES_PER_CLIP]
    boxes[:, 1:] *= side
    return [slow, fast], boxes


def count_flops(model: torch.nn.Module, inputs: list[torch.Tensor], boxes: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(inputs, boxes)
    return counter.get_total_flops()


def time_interleaved(
    runs: dict[str, Callable[[], torch.Tensor]], iters: int
) -> dict[str, tuple[float, torch.Tensor]]:
    """Median seconds per mode and its last output; the modes take turns in each round, so
    that a change in the load of the shared CPU hits all of them alike."""
    outputs = {mode: run() for mode, run in runs.items()}  # warm-up
    times: dict[str, list[float]] = {mode: [] for mode in runs}
    for _ in range(iters):
        for mode, run in runs.items():
            start = time.perf_counter()
            outputs[mode] = run()
            times[mode].append(time.perf_counter() - start)
    return {mode: (statistics.median(times[mode]), outputs[mode]) for mode in runs}


def runner(
    mode: str, model: torch.nn.Module, inputs: list[torch.Tensor], boxes: torch.Tensor
) -> tuple[Callable[[], torch.Tensor], float]:
    """A no-argument forward for ``mode`` and its set-up time (compilation)."""
    start = time.perf_counter()
    channels_last = "channels_last" in mode
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        inputs = [x.contiguous(memory_format=torch.channels_last_3d) for x in inputs]
    autocast = (
        (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if "bf16" in mode else nullcontext
    )
    forward = torch.compile(model) if mode == "compile" else model

    def run() -> torch.Tensor:
        with torch.no_grad(), autocast():
            return forward(inputs, boxes).float()

    if mode == "compile":
        run()  # compile now, so that its time is reported apart from the forward passes
    return run, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="slowfast_r50_detection")
    parser.add_argument("--inputs", default=",".join(DEFAULT_INPUTS))
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES), help=f"of {', '.join(MODES)}")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    modes = args.modes.split(",")
    model = build_model(ModelConfig(name=args.model), generator=torch_generator(0)).eval()
    print(
        f"{args.model}: {count_parameters(model):,} parameters; torch {torch.__version__}, "
        f"{args.threads} intra-op threads on {os.cpu_count()} CPUs (SHARED with other jobs: "
        f"figures are indicative); median of {args.iters} forward passes, 1 clip, "
        f"{BOXES_PER_CLIP} boxes"
    )
    header = (
        f"{'input':>10} {'GFLOPs':>7} {'GMACs':>6} {'mode':>19} {'s/clip':>7} "
        f"{'clips/s':>7} {'x fp32':>6} {'max|dlogit|':>11} {'setup s':>7}"
    )
    print(header)
    print("-" * len(header))
    for spec in args.inputs.split(","):
        inputs, boxes = make_inputs(*parse_input(spec))
        flops = count_flops(model, inputs, boxes)
        runs, setups = {}, {}
        for mode in modes:  # each mode runs its own copy: memory formats must not leak
            runs[mode], setups[mode] = runner(mode, copy.deepcopy(model), inputs, boxes)
        results = time_interleaved(runs, args.iters)
        baseline_time, baseline_out = results[modes[0]]
        for mode in modes:
            seconds, out = results[mode]
            diff = (out - baseline_out).abs().max().item()
            print(
                f"{spec:>10} {flops / 1e9:7.1f} {flops / 2e9:6.1f} {mode:>19} {seconds:7.3f} "
                f"{1 / seconds:7.2f} {baseline_time / seconds:6.2f} {diff:11.2e} "
                f"{setups[mode]:7.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
