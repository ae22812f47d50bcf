"""Arguments shared by several verbs (not a verb itself)."""

from __future__ import annotations

import argparse


def add_job_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--out``, ``--config`` and ``KEY=VALUE`` overrides of the end-to-end jobs."""
    parser.add_argument("--out", required=True, help="output folder (re-running into it resumes)")
    parser.add_argument(
        "--config",
        default=None,
        help="a quickstart YAML (default: the embedded slim CPU configuration)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. synth.preset=small finetune.optim.max_epoch=2",
    )
