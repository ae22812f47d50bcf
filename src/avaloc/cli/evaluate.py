"""``avaloc evaluate``: AVA frame-mAP (or person AP) of a prediction CSV."""

from __future__ import annotations

import argparse
import json
import math
import time

from avaloc.errors import InputError
from avaloc.evaluation import PROTOCOLS, FrameMapResult, evaluate_files, read_box_table
from avaloc.evaluation.person import person_ap_details
from avaloc.fileio import atomic_write
from avaloc.formats import read_detections, read_excluded_timestamps, read_ground_truth


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="frame-mAP@0.5 of AVA predictions (official ActivityNet protocol), or person AP",
        description="Frame-mAP@0.5 of an AVA prediction CSV against a ground-truth CSV, "
        "identical to the ActivityNet 2019 evaluator (protocol 'official', default) or to "
        "PySlowFast's evaluation ('pyslowfast'). With --person: class-agnostic person-box "
        "AP@0.5 of a detection CSV.",
    )
    parser.add_argument("--gt", required=True, help="ground-truth CSV (.csv or .csv.gz)")
    parser.add_argument("--pred", required=True, help="prediction / detection CSV")
    parser.add_argument("--label-map", help="pbtxt label map (required unless --person)")
    parser.add_argument("--excluded", help="excluded-timestamps CSV (video_id,timestamp)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="official")
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON")
    parser.add_argument("--plot", metavar="PNG", help="also write a per-class AP bar chart")
    parser.add_argument(
        "--person", action="store_true", help="person-box AP@0.5 (class ignored) instead"
    )
    parser.add_argument("--ignore", help="with --person: CSV of ignore regions")
    parser.add_argument(
        "--sweep",
        metavar="DETECTIONS",
        help="also print the mAP at person-detector score thresholds 0.0..0.9 (Table 1), "
        "joining the predictions to this person-detection CSV (empty action id, detector score)",
    )
    parser.add_argument("--sweep-plot", metavar="PNG", help="with --sweep: plot of the sweep")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.person:
        return _run_person(args)
    if not args.label_map:
        raise InputError("--label-map is required (unless --person)")
    start = time.perf_counter()
    evaluation = evaluate_files(
        args.gt, args.pred, args.label_map, args.excluded, protocol=args.protocol
    )
    result = evaluation.result
    _print_table(result)
    print(_summary(result, evaluation.gt_rows, evaluation.pred_rows, time.perf_counter() - start))
    if args.json:
        with atomic_write(args.json) as handle:
            json.dump(result.to_json(), handle, indent=1)
            handle.write("\n")
    if args.plot:
        from avaloc.evaluation.figures import plot_per_class_ap  # matplotlib only when asked

        plot_per_class_ap(result, args.plot)
    if args.sweep:
        _run_sweep(args, evaluation.label_map)
    return 0


def _run_sweep(args: argparse.Namespace, label_map) -> None:
    from avaloc.evaluation import figures  # matplotlib only when asked

    gt = read_ground_truth(args.gt, on_duplicate="keep")
    pred = read_detections(args.pred)
    detections = read_detections(args.sweep)
    excluded = read_excluded_timestamps(args.excluded) if args.excluded else set()
    points = figures.threshold_sweep(
        gt,
        figures.attach_detector_scores(pred, detections),
        label_map,
        excluded=excluded,
        protocol=args.protocol,
    )
    print()
    print(figures.sweep_table(points))
    if args.sweep_plot:
        figures.plot_threshold_sweep(points, args.sweep_plot)


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4f}"


def _print_table(result: FrameMapResult) -> None:
    print(f"{'id':>4}  {'name':<42} {'AP':>7} {'num GT':>7}  tie range")
    for class_id, entry in result.per_class.items():
        spread = ""
        if entry.ap is not None and _fmt(entry.ap_best) != _fmt(entry.ap_worst):
            spread = f"[{_fmt(entry.ap_worst)}, {_fmt(entry.ap_best)}]"
        print(
            f"{class_id:>4}  {entry.name[:42]:<42} {_fmt(entry.ap):>7} {entry.num_gt:>7}  {spread}"
        )


def _summary(result: FrameMapResult, gt_rows: int, pred_rows: int, seconds: float) -> str:
    ignored = result.ignored
    with_gt = sum(1 for r in result.per_class.values() if r.ap is not None)
    parts = [
        f"frame-mAP@0.5 ({result.protocol}): {_fmt(result.mAP)} over {with_gt} classes with GT",
        f"{gt_rows} GT rows, {pred_rows} prediction rows, read and evaluated in {seconds:.2f} s",
    ]
    if abs(result.mAP_best - result.mAP_worst) > 1e-9:
        parts.append(
            f"tied scores allow mAP {result.mAP_worst:.6f} .. {result.mAP_best:.6f} "
            "(worst .. best order of the tied detections)"
        )
    skipped = {
        "GT rows outside the label map": ignored.gt_outside_label_map,
        "prediction rows outside the label map": ignored.pred_outside_label_map,
        "GT rows in excluded keyframes": ignored.gt_excluded,
        "prediction rows in excluded keyframes": ignored.pred_excluded,
        "prediction rows beyond 50 per keyframe": ignored.pred_over_capacity,
        "prediction rows with an empty box": ignored.pred_invalid_box,
    }
    ignored_text = "; ".join(f"{n} {what}" for what, n in skipped.items() if n)
    return "\n".join(parts) + (f"\nignored: {ignored_text}" if ignored_text else "")


def _run_person(args: argparse.Namespace) -> int:
    gt = read_box_table(args.gt, "gt")
    det = read_box_table(args.pred, "pred")
    ignore = read_box_table(args.ignore, "gt") if args.ignore else None
    result = person_ap_details(gt, det, 0.5, ignore)
    print(
        f"person AP@0.5: {_fmt(result.ap)}  ({result.num_gt} GT boxes, {result.num_detections} "
        f"detections: {result.true_positives} TP, {result.false_positives} FP"
        + (f", {result.dropped_in_ignore_regions} in ignore regions" if ignore else "")
        + f"; recall {_fmt(result.recall)})"
    )
    if args.json:
        with atomic_write(args.json) as handle:
            json.dump(
                {
                    "person_ap": None if math.isnan(result.ap) else result.ap,
                    "num_gt": result.num_gt,
                    "num_detections": result.num_detections,
                    "true_positives": result.true_positives,
                    "false_positives": result.false_positives,
                    "dropped_in_ignore_regions": result.dropped_in_ignore_regions,
                },
                handle,
                indent=1,
            )
            handle.write("\n")
    return 0
