"""``avaloc quickstart``: the whole pipeline on the synthetic benchmark, with a report."""

from __future__ import annotations

import argparse

from avaloc.cli.common import add_job_config_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quickstart",
        help="run the report's whole system on synthetic data and write a report",
        description="Generate the synthetic benchmark, train the person detector, write "
        "proposals, pre-train and fine-tune SlowFast (CP-IA + LS), predict with the multi-scale "
        "ensemble, evaluate, and write DIR/report.json, report.md and report.html. Re-running "
        "into the same DIR resumes finished and interrupted stages.",
    )
    add_job_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avaloc.pipeline.quickstart import load_quickstart_config, run_quickstart

    config = load_quickstart_config(args.config, args.overrides)
    run_quickstart(args.out, config)
    return 0
