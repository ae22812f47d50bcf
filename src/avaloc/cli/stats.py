"""``avaloc stats``: class co-occurrence, CP-IA and label subsampling of an AVA annotation file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from avaloc.balance import BalanceConfig
from avaloc.balance.report import write_balance_report
from avaloc.config import load_config
from avaloc.errors import InputError
from avaloc.formats import (
    ReadReport,
    filter_keyframes,
    group_instances,
    read_excluded_timestamps,
    read_ground_truth,
    read_label_map,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="co-occurrence matrix, CP-IA and label subsampling statistics of an AVA GT CSV",
        description="Compute the class co-occurrence matrix before and after balancing (CP-IA "
        "then label subsampling, expected epoch composition), write .npy/.csv matrices, the "
        "report's Figure 2 heatmaps, a class-count chart, the LS table and stats.json.",
    )
    parser.add_argument("--annotations", required=True, help="AVA ground-truth CSV (.csv/.gz)")
    parser.add_argument("--label-map", required=True, help="pbtxt label map (classes counted)")
    parser.add_argument("--out", required=True, help="output folder (created if absent)")
    parser.add_argument("--excluded", help="excluded-timestamps CSV to drop keyframes first")
    parser.add_argument(
        "--skip-unknown",
        action="store_true",
        help="skip rows whose action id is not in the label map instead of failing",
    )
    parser.add_argument("--config", help="YAML file with BalanceConfig keys")
    parser.add_argument("--no-cpia", action="store_true", help="switch CP-IA off")
    parser.add_argument("--cpia-target", type=int, help="CP-IA target count per class")
    parser.add_argument(
        "--cpia-target-percent",
        type=float,
        help="CP-IA target as a percentage of all label instances (when --cpia-target is unset)",
    )
    parser.add_argument("--cpia-max-repeat", type=int, help="max extra copies of one instance")
    parser.add_argument("--cpia-rule", choices=["greedy", "rarest"], help="replication rule")
    parser.add_argument("--no-ls", action="store_true", help="switch label subsampling off")
    parser.add_argument("--ls-min-count", type=int, help="LS: only classes above this count")
    parser.add_argument("--ls-threshold", type=float, help="LS: T in max(0, T - 1/P_i)")
    parser.add_argument(
        "--frontier",
        help="comma-separated CP-IA targets: also write frontier.png and the frontier in "
        "stats.json (ratio reduction vs row cosine)",
    )
    parser.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> list[str]:
    pairs = {
        "cpia": "false" if args.no_cpia else None,
        "cpia_target": args.cpia_target,
        "cpia_target_percent": args.cpia_target_percent,
        "cpia_max_repeat": args.cpia_max_repeat,
        "cpia_rule": args.cpia_rule,
        "ls": "false" if args.no_ls else None,
        "ls_min_count": args.ls_min_count,
        "ls_threshold": args.ls_threshold,
    }
    return [f"{key}={value}" for key, value in pairs.items() if value is not None]


def _frontier_targets(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        targets = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--frontier must be comma-separated integers, got {text!r}") from None
    if not targets or min(targets) < 1:
        raise InputError(f"--frontier targets must be >= 1, got {text!r}")
    return targets


def run(args: argparse.Namespace) -> int:
    config = load_config(BalanceConfig, args.config, _overrides(args))
    targets = _frontier_targets(args.frontier)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("output path exists and is not a folder", path=out)
    label_map = read_label_map(args.label_map)
    report = ReadReport(args.annotations)
    rows = read_ground_truth(
        args.annotations,
        label_ids=label_map.ids,
        on_unknown_action="skip" if args.skip_unknown else "error",
        report=report,
    )
    if report.skipped_unknown_action or report.skipped_duplicates:
        print(report.summary(), file=sys.stderr)
    if args.excluded:
        rows = filter_keyframes(rows, read_excluded_timestamps(args.excluded))
    instances = group_instances(rows)
    if len(instances) == 0:
        raise InputError("no annotated person instance to count", path=args.annotations)
    written = write_balance_report(
        instances,
        label_map.ids,
        label_map.names,
        out,
        config,
        frontier_targets=targets,
        source=str(args.annotations),
    )
    stats = written.stats
    print(written.ls_table)
    ratio = stats["diagonal_max_min_ratio"]
    print(
        f"{stats['num_instances']} instances, {stats['num_label_instances']} labels; "
        f"CP-IA target {stats['cpia_target']}: +{stats['cpia_extra_samples']} samples; LS on "
        f"{len(stats['ls_subsampled_classes'])} classes; max/min ratio {ratio['before']:.1f} -> "
        f"{ratio['after']:.1f} ({stats['ratio_reduction']:.1f}x); row cosine median "
        f"{stats['median_row_cosine']:.3f}, min {stats['min_row_cosine']:.3f}; wrote {out}"
    )
    return 0
