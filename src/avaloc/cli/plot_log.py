"""``avaloc plot-log``: loss, learning-rate and validation curves of a training run as PNGs."""

from __future__ import annotations

import argparse

from avaloc.engine import plot_log


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot-log",
        help="draw loss, LR and validation-metric curves of a training run (PNG)",
        description="Read RUN_DIR/metrics.jsonl and write loss.png, lr.png and one "
        "val_<metric>.png per validation metric into --out (default RUN_DIR/plots).",
    )
    parser.add_argument("run_dir", help="a run directory written by `avaloc train`")
    parser.add_argument("--out", help="output folder (default RUN_DIR/plots)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for path in plot_log(args.run_dir, args.out):
        print(path)
    return 0
