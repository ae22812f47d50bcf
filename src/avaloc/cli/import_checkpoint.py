"""``avaloc import-checkpoint``: convert a PySlowFast ``.pyth`` checkpoint to avaloc's format."""

from __future__ import annotations

import argparse
import os
import sys

from avaloc.models import count_parameters
from avaloc.models.pyslowfast import import_pyslowfast_checkpoint
from avaloc.models.weights import save_model_checkpoint


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-checkpoint",
        help="convert a PySlowFast .pyth checkpoint into an avaloc model checkpoint",
        description="Build the SlowFast network a PySlowFast checkpoint's cfg describes, load its "
        "weights (read with weights_only=True; every key and shape checked), and write avaloc's "
        "checkpoint dict {model_state, model_config, source} atomically.",
    )
    parser.add_argument("checkpoint", help="PySlowFast checkpoint (.pyth)")
    parser.add_argument("output", help="avaloc checkpoint to write (.pt)")
    parser.add_argument(
        "--num-classes",
        type=int,
        help="build a fresh head of this size instead of the checkpoint's (its head is skipped), "
        "e.g. to fine-tune a Kinetics model on AVA's 80 classes",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    imported = import_pyslowfast_checkpoint(args.checkpoint, num_classes=args.num_classes)
    for line in imported.report.messages():
        print(line, file=sys.stderr)
    save_model_checkpoint(args.output, imported.model, source=imported.source)
    config = imported.config
    print(
        f"{os.fspath(args.output)}: {config.name} (depth {config.depth}, width "
        f"{config.width_per_group}, head {config.head}, {config.num_classes} classes), "
        f"{count_parameters(imported.model):,} parameters, {imported.report.loaded} tensors "
        f"loaded from {args.checkpoint} (epoch {imported.epoch})"
    )
    return 0
