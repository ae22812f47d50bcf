"""Run the toy task through avaloc.engine.train (as a subprocess or under torchrun).

Usage: python toy_run.py RUN_DIR [--resume] [--delay S] [--samples N] [key=value ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_toy import ToyTask, toy_config

from avaloc.engine import train
from avaloc.engine.distributed import shutdown_distributed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    task = ToyTask(samples=args.samples, delay=args.delay, dropout=args.dropout)
    train(toy_config(args.overrides), args.run_dir, resume=args.resume, task=task)
    shutdown_distributed()


if __name__ == "__main__":
    main()
