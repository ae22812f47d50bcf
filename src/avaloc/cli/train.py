"""``avaloc train``: pre-train or fine-tune SlowFast from a YAML recipe (alone or on torchrun)."""

from __future__ import annotations

import argparse
import sys

from avaloc.engine import TrainingDivergedError, load_run_config, train
from avaloc.engine.distributed import shutdown_distributed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train SlowFast (clip-classification pre-training or AVA detection fine-tuning)",
        description="Train from a YAML recipe (configs/), with key=value overrides such as "
        "optim.base_lr=0.05 or data.root=DIR. Checkpoints, metrics.jsonl, TensorBoard events "
        "and the resolved config go to --out. Under torchrun every process runs this command "
        "(see docs/training.md).",
    )
    parser.add_argument("--config", required=True, help="YAML run config (see configs/)")
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the latest checkpoint in --out (weights, optimizer, schedule, RNG "
        "and the position in the epoch); starts fresh if there is none",
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_run_config(args.config, args.overrides)
    try:
        train(config, args.out, resume=args.resume)
    except TrainingDivergedError as exc:
        print(f"avaloc train: stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown_distributed()
    return 0
