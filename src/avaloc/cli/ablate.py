"""``avaloc ablate``: the report's Table 2 rows over several seeds, with head/middle/tail mAP."""

from __future__ import annotations

import argparse

from avaloc.cli.common import add_job_config_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ablate",
        help="train and evaluate the report's Table 2 rows over several seeds",
        description="Rows: 1 baseline, 2 + CP-IA, 3 Aug + LS, 4 Aug + CP-IA + LS, 5 + multi-scale "
        "test, 6 + model ensemble. Writes OUT/ablation.json and OUT/ablation.md (mean ± std over "
        "seeds, mAP split into head/middle/tail classes by training frequency). Re-running into "
        "the same OUT resumes.",
    )
    add_job_config_arguments(parser)
    parser.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds per row (3)")
    parser.add_argument("--rows", default="1,2,3,4,5,6", help="comma-separated rows to run")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avaloc.pipeline.ablate import run_ablation
    from avaloc.pipeline.quickstart import load_quickstart_config

    config = load_quickstart_config(args.config, args.overrides)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    run_ablation(args.out, config, seeds=args.seeds, rows=rows)
    return 0
