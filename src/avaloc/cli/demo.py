"""``avaloc demo``: detect, track and classify the persons of any video; write an annotated copy."""

from __future__ import annotations

import argparse
from pathlib import Path

from avaloc.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline over a video and write an annotated copy",
        description="Every second: detect persons, link them into tracks, classify the 2-s clip "
        "around the keyframe for each person with the action model(s); write an annotated video, "
        "an AVA prediction CSV and a CSV of the tracked boxes (OUT_CSV with .tracks.csv).",
    )
    parser.add_argument("video", help="input video file (anything PyAV/FFmpeg decodes)")
    parser.add_argument(
        "--checkpoint",
        nargs="+",
        required=True,
        help="avaloc action-model checkpoint(s); several are ensembled",
    )
    parser.add_argument(
        "--detector",
        default="hog",
        help="'hog' (OpenCV's people detector, no weights needed) or an avaloc "
        "detector file from 'avaloc detect train' (default: hog)",
    )
    parser.add_argument(
        "--score-thresh",
        type=float,
        default=None,
        help="person boxes kept above this detector score (default: 0.85 for a "
        "trained detector as in the report, 0.5 for HOG, whose score is the "
        "logistic of its SVM margin)",
    )
    parser.add_argument(
        "--scales",
        default=None,
        help="comma-separated test scales (default: the checkpoint's test scale)",
    )
    parser.add_argument(
        "--label-map",
        default=None,
        help="label map naming the classes (default: the one of the training run)",
    )
    parser.add_argument("--top-k", type=int, default=3, help="actions drawn per person")
    parser.add_argument("--out", required=True, help="annotated output video (.mp4)")
    parser.add_argument("--csv", default=None, help="AVA prediction CSV (default: OUT with .csv)")
    parser.set_defaults(func=run)


def _scales(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--scales {text!r} is not a comma-separated list of integers") from None
    if not values or min(values) < 16:
        raise InputError(f"--scales {text!r}: give at least one scale >= 16")
    return values


def run(args: argparse.Namespace) -> int:
    from avaloc.detect import DetectorConfig, HogDetector, TorchvisionDetector
    from avaloc.detect.train import load_trained_detector
    from avaloc.engine import load_model_from_checkpoint
    from avaloc.formats import read_label_map
    from avaloc.pipeline.demo import run_demo

    video = Path(args.video)
    if not video.is_file():
        raise InputError("video not found", path=video)
    models, configs = [], []
    for path in args.checkpoint:
        model, config = load_model_from_checkpoint(path)
        models.append(model)
        configs.append(config)
    data = configs[0].data
    label_map_path = Path(args.label_map) if args.label_map else data.path(data.label_map)
    label_map = read_label_map(label_map_path)
    num_classes = configs[0].model.num_classes
    if len(label_map) != num_classes:
        raise InputError(
            f"the label map has {len(label_map)} classes but the model predicts {num_classes}",
            path=label_map_path,
        )
    if args.detector == "hog":
        detector = HogDetector(DetectorConfig().hog)
        threshold = 0.5 if args.score_thresh is None else args.score_thresh
    else:
        network, detector_config = load_trained_detector(args.detector)
        detector = TorchvisionDetector(network, min_score=detector_config.score_threshold)
        threshold = (
            detector_config.downstream_threshold if args.score_thresh is None else args.score_thresh
        )
    out_csv = Path(args.csv) if args.csv else Path(args.out).with_suffix(".csv")
    summary = run_demo(
        video,
        models,
        data,
        detector,
        dict(label_map.names),
        args.out,
        out_csv,
        class_ids=label_map.ids,
        score_threshold=threshold,
        scales=_scales(args.scales),
        top_k=args.top_k,
    )
    print(summary.line())
    print(f"wrote {args.out}, {out_csv} and {out_csv.with_suffix('.tracks.csv')}")
    return 0
