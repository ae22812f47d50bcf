"""``avaloc info``: what an AVA annotation file holds."""

from __future__ import annotations

import argparse
import json
import sys

from avaloc.formats import ReadReport, group_instances, read_ground_truth, read_label_map, summarize


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="summarize an AVA ground-truth CSV (videos, keyframes, instances, classes)",
        description="Count videos, keyframes, person instances (distinct boxes per keyframe), "
        "label rows and per-class instances of an AVA ground-truth CSV (.csv or .csv.gz).",
    )
    parser.add_argument("annotations", help="AVA ground-truth CSV")
    parser.add_argument("--label-map", help="pbtxt label map: names the classes and checks ids")
    parser.add_argument(
        "--skip-unknown",
        action="store_true",
        help="skip (and count) rows whose action id is not in the label map instead of failing",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    label_map = read_label_map(args.label_map) if args.label_map else None
    report = ReadReport(args.annotations)
    rows = read_ground_truth(
        args.annotations,
        label_ids=None if label_map is None else label_map.ids,
        on_unknown_action="skip" if args.skip_unknown else "error",
        report=report,
    )
    summary = summarize(rows, group_instances(rows))
    if report.skipped_unknown_action or report.skipped_duplicates:
        print(report.summary(), file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "videos": summary.videos,
                    "keyframes": summary.keyframes,
                    "instances": summary.instances,
                    "labels": summary.labels,
                    "labels_per_instance": {
                        "mean": summary.labels_per_instance_mean,
                        "max": summary.labels_per_instance_max,
                        "histogram": {
                            str(k): v for k, v in summary.labels_per_instance_histogram.items()
                        },
                    },
                    "per_class": {str(k): v for k, v in summary.per_class.items()},
                }
            )
        )
        return 0
    print(f"file:        {args.annotations}")
    print(f"videos:      {summary.videos}")
    print(f"keyframes:   {summary.keyframes}")
    print(f"instances:   {summary.instances}  (distinct person boxes per keyframe)")
    print(f"labels:      {summary.labels}  (distinct (instance, action) pairs; {len(rows)} rows)")
    histogram = ", ".join(f"{k}: {v}" for k, v in summary.labels_per_instance_histogram.items())
    print(
        f"labels per instance: mean {summary.labels_per_instance_mean:.2f}, "
        f"max {summary.labels_per_instance_max}  ({histogram})"
    )
    print()
    total = max(summary.labels, 1)
    print(f"{'id':>4}  {'name':<40} {'instances':>10} {'share %':>8}")
    for action_id, count in sorted(summary.per_class.items(), key=lambda kv: (-kv[1], kv[0])):
        name = label_map.names.get(action_id, "") if label_map else ""
        print(f"{action_id:>4}  {name[:40]:<40} {count:>10} {100 * count / total:>8.3f}")
    if label_map is not None:
        absent = [i for i in label_map.ids if i not in summary.per_class]
        if absent:
            print(
                f"\n{len(absent)} classes of the label map have no instances: "
                + ", ".join(map(str, absent))
            )
    return 0
