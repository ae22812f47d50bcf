"""``avaloc detect train|predict|evaluate``: the person detector stage on the command line."""

from __future__ import annotations

import argparse
import json

from avaloc.errors import InputError


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML DetectorConfig (see docs/detect.md)")
    parser.add_argument(
        "--backbone",
        help="resnext101_32x8d_fpn, resnet50_fpn, mobilenet_v3_large_fpn or hog",
    )
    parser.add_argument(
        "--weights",
        help="detector weights file: an avaloc detector.pt/checkpoint (its architecture is "
        "used) or a torchvision COCO Faster R-CNN checkpoint (person row kept)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set min_size=360 --set train.max_iters=500",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (on a shared, oversubscribed machine 1 is often several "
        "times faster than the default)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="person detector: train, predict boxes, evaluate person AP",
        description="Faster R-CNN FPN person detector (torchvision; ResNeXt-101, ResNet-50, "
        "MobileNetV3 backbones) or OpenCV's HOG people detector. Nothing is downloaded.",
    )
    verbs = parser.add_subparsers(dest="detect_verb", metavar="SUBVERB", required=True)

    train = verbs.add_parser(
        "train",
        help="train/fine-tune on the person boxes of an AVA ground-truth CSV",
        description="Train on every annotated person box of the keyframes of an AVA "
        "ground-truth CSV (class-agnostic). Resumes from RUN_DIR's last checkpoint.",
    )
    train.add_argument("--annotations", required=True, help="AVA ground-truth CSV")
    train.add_argument("--video-dir", required=True, help="folder of <video_id>.<ext> videos")
    train.add_argument("--run-dir", required=True, help="output folder (checkpoints, logs)")
    train.add_argument(
        "--no-resume", action="store_true", help="start over (deletes RUN_DIR's old checkpoints)"
    )
    _add_config_arguments(train)
    train.set_defaults(func=run_train)

    predict = verbs.add_parser(
        "predict",
        help="write an AVA detection CSV of person boxes",
        description="Detect persons at keyframes and write video_id,timestamp,x1,y1,x2,y2,,score "
        "(normalized boxes). Keyframes come from a ground-truth CSV, a video_id,timestamp CSV, "
        "a video-id list x a timestamp list, or every N frames of one video (timestamp = frame).",
    )
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--annotations", help="AVA ground-truth CSV: its keyframes")
    source.add_argument("--keyframes", help="CSV of video_id,timestamp rows")
    source.add_argument("--video-ids", help="list of video ids (one a line); needs --timestamps")
    source.add_argument("--video", help="one video file: every --every-n-frames frames")
    predict.add_argument("--timestamps", help="list of keyframe seconds (with --video-ids)")
    predict.add_argument("--every-n-frames", type=int, default=1, help="with --video (default 1)")
    predict.add_argument("--video-dir", help="folder of <video_id>.<ext> videos")
    predict.add_argument("--out", required=True, help="detection CSV to write (.csv or .csv.gz)")
    predict.add_argument("--min-score", type=float, help="drop boxes below this score")
    predict.add_argument(
        "--transfer-labels",
        metavar="GT_OUT",
        help="also write a ground-truth CSV of the detector's boxes carrying the labels of the "
        "--annotations box they overlap (IoU >= --transfer-iou); unmatched boxes get none",
    )
    predict.add_argument("--transfer-iou", type=float, default=0.5)
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_config_arguments(predict)
    predict.set_defaults(func=run_predict)

    evaluate = verbs.add_parser(
        "evaluate",
        help="person AP of a detection CSV against ground truth",
        description="Person AP at an IoU threshold (all keyframes pooled; every distinct GT box "
        "is a person) with avaloc.evaluation.person_ap.",
    )
    evaluate.add_argument("--annotations", required=True, help="AVA ground-truth CSV")
    evaluate.add_argument("--detections", required=True, help="AVA detection CSV")
    evaluate.add_argument("--ignore", help="ground-truth-format CSV of ignore regions")
    evaluate.add_argument("--iou", type=float, default=0.5, help="IoU threshold (default 0.5)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(func=run_evaluate)


def _config(args: argparse.Namespace):
    import torch

    from avaloc.detect.train import resolve_detector_config

    if args.threads is not None:
        if args.threads < 1:
            raise InputError("--threads must be >= 1")
        torch.set_num_threads(args.threads)

    overrides = list(args.overrides)
    if args.backbone:
        overrides.append(f"backbone={args.backbone}")
    return resolve_detector_config(args.config, overrides, weights=args.weights)


def run_train(args: argparse.Namespace) -> int:
    from avaloc.detect import train_detector
    from avaloc.formats import read_ground_truth

    cfg = _config(args)
    rows = read_ground_truth(args.annotations)
    summary = train_detector(cfg, rows, args.video_dir, args.run_dir, resume=not args.no_resume)
    print(summary.line())
    return 0


def _keyframes(args: argparse.Namespace) -> list[tuple[str, int]]:
    from avaloc.formats import (
        read_excluded_timestamps,
        read_ground_truth,
        read_id_list,
        read_timestamp_list,
    )

    if args.annotations:
        rows = read_ground_truth(args.annotations)
        return sorted(set(zip(rows["video_id"].tolist(), rows["timestamp"].tolist())))
    if args.keyframes:
        return sorted(read_excluded_timestamps(args.keyframes))
    if not args.timestamps:
        raise InputError("--video-ids needs --timestamps (a list of keyframe seconds)")
    seconds = read_timestamp_list(args.timestamps)
    return [(v, t) for v in read_id_list(args.video_ids) for t in seconds]


def run_predict(args: argparse.Namespace) -> int:
    from avaloc.detect import detect_keyframes, detect_video_frames, make_detector, transfer_labels
    from avaloc.formats import read_ground_truth, write_detections, write_ground_truth

    cfg = _config(args)
    if args.min_score is not None:
        if not 0.0 <= args.min_score <= 1.0:
            raise InputError("--min-score must be in [0, 1]")
        cfg.score_threshold = args.min_score
    if args.transfer_labels and not args.annotations:
        raise InputError("--transfer-labels needs --annotations (the labels to transfer)")
    if args.video:
        detector = make_detector(cfg)
        table = detect_video_frames(
            detector, args.video, every_n_frames=args.every_n_frames, progress=not args.quiet
        )
    else:
        if not args.video_dir:
            raise InputError("--video-dir is required unless --video is given")
        keyframes = _keyframes(args)
        detector = make_detector(cfg)
        table = detect_keyframes(detector, keyframes, args.video_dir, progress=not args.quiet)
    write_detections(table, args.out)
    frames = table.groupby(["video_id", "timestamp"]).ngroups
    kept = int((table["score"] >= cfg.downstream_threshold).sum())
    print(
        f"{len(table)} person boxes on {frames} frames -> {args.out} "
        f"({kept} at score >= {cfg.downstream_threshold:g}, the downstream threshold)"
    )
    if args.transfer_labels:
        labeled, unmatched = transfer_labels(
            table, read_ground_truth(args.annotations), iou_threshold=args.transfer_iou
        )
        write_ground_truth(labeled, args.transfer_labels)
        print(
            f"{len(table) - len(unmatched)} boxes took labels ({len(labeled)} rows), "
            f"{len(unmatched)} matched no ground-truth box -> {args.transfer_labels}"
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from avaloc.evaluation import person_ap_details
    from avaloc.formats import read_detections, read_ground_truth

    if not 0.0 < args.iou <= 1.0:
        raise InputError("--iou must be in (0, 1]")
    gt = read_ground_truth(args.annotations, on_duplicate="skip")
    detections = read_detections(args.detections)
    ignore = read_ground_truth(args.ignore, on_duplicate="skip") if args.ignore else None
    result = person_ap_details(gt, detections, iou_threshold=args.iou, ignore_rows=ignore)
    if args.json:
        print(
            json.dumps(
                {
                    "person_ap": result.ap,
                    "iou": args.iou,
                    "recall": result.recall,
                    "gt_boxes": result.num_gt,
                    "detections": result.num_detections,
                    "true_positives": result.true_positives,
                    "dropped_in_ignore_regions": result.dropped_in_ignore_regions,
                }
            )
        )
        return 0
    ignored = (
        f", {result.dropped_in_ignore_regions} in ignore regions" if ignore is not None else ""
    )
    print(
        f"person AP@{args.iou:g} = {result.ap:.4f}  (recall {result.recall:.4f}; "
        f"{result.num_gt} ground-truth boxes, {result.num_detections} detections{ignored})"
    )
    return 0
