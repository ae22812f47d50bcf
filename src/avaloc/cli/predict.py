"""``avaloc predict``: checkpoints -> AVA prediction CSV, with scale/flip/model ensembles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from avaloc.errors import InputError


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one value")
    return values


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict the actions of person boxes (AVA result CSV; scale and model ensembles)",
        description="Run one or more checkpoints over the keyframes of a split and write an AVA "
        "prediction CSV (one row per box and class, PySlowFast's number formats). Per-box class "
        "probabilities are averaged over test scales and flips (scale ensemble) and over "
        "checkpoints (model ensemble, optionally weighted). Finished videos are kept beside the "
        "output, so --resume continues an interrupted run; the output is written atomically.",
    )
    parser.add_argument(
        "--checkpoint",
        nargs="+",
        required=True,
        metavar="C",
        help="avaloc checkpoints (or ONNX files from `avaloc export` with --engine onnxruntime)",
    )
    parser.add_argument("--out", required=True, help="prediction CSV to write (.csv or .csv.gz)")
    parser.add_argument(
        "--config", help="run config YAML for the data settings (default: the first checkpoint's)"
    )
    parser.add_argument(
        "--data", default="val", metavar="SPLIT", help="split of the data config (default val)"
    )
    parser.add_argument(
        "--boxes",
        metavar="PROPOSALS.csv",
        help="person boxes (AVA detection CSV, empty action id) instead of the split's detections",
    )
    parser.add_argument(
        "--score-thresh",
        type=float,
        help="keep proposals scoring at least this (default: data.test_detection_threshold, 0.85)",
    )
    parser.add_argument(
        "--gt-boxes",
        action="store_true",
        help="use the ground-truth boxes (oracle evaluation) instead of detections",
    )
    parser.add_argument(
        "--scales",
        type=_int_list,
        metavar="S1,S2,...",
        help="test scales: short side in pixels, full frame (default: data.test_scale)",
    )
    parser.add_argument("--flip", action="store_true", help="also average the mirrored clips")
    parser.add_argument(
        "--weights", type=_float_list, metavar="W1,W2,...", help="one weight per checkpoint"
    )
    parser.add_argument(
        "--engine",
        choices=["pytorch", "onnxruntime"],
        default="pytorch",
        help="run checkpoints with PyTorch, or exported ONNX files with onnxruntime",
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="PyTorch engine: auto = bf16 + channels_last for full-width models on CPUs with "
        "native bf16, fp32 otherwise; fp32 for results comparable with PySlowFast",
    )
    parser.add_argument("--batch-size", type=int, help="clips per batch (default: eval batch size)")
    parser.add_argument("--workers", type=int, help="DataLoader workers (default: the config's)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--keep-det-scores",
        action="store_true",
        help="also write OUT's .det_scores.csv: each box with its detector score "
        "(for the detector-threshold sweep)",
    )
    parser.add_argument(
        "--score-decimals",
        type=int,
        default=4,
        help="decimals of the scores (default 4, as PySlowFast)",
    )
    parser.add_argument(
        "--classes",
        metavar="LABEL_MAP",
        help="write only the classes of this label map (e.g. the 60-class ActivityNet list)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted run of the same settings"
    )
    parser.add_argument(
        "--evaluate", action="store_true", help="compute the frame-mAP afterwards (needs --gt)"
    )
    parser.add_argument("--gt", help="ground-truth CSV (for --evaluate, and for --gt-boxes)")
    parser.add_argument("--label-map", help="label map for --evaluate (default: the data's)")
    parser.add_argument(
        "--excluded",
        help="excluded timestamps CSV for --evaluate (default: the split's, as the prediction)",
    )
    parser.add_argument("--json", help="with --evaluate: write the result JSON here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="run config overrides, e.g. data.root=DIR (may also follow the checkpoints)",
    )
    parser.set_defaults(func=run)


def _run_config(args: argparse.Namespace):
    from avaloc.config import load_config
    from avaloc.engine.config import (
        RunConfig,
        load_run_config,
        run_config_to_dict,
        validate_run_config,
    )
    from avaloc.engine.predict import load_predictor

    if args.config is not None:
        return load_run_config(args.config, args.overrides)
    if not args.overrides:
        return None
    _, stored, _ = load_predictor(args.checkpoint[0], args.engine, args.device)
    if stored is None:
        raise InputError("this model carries no run config: pass --config", path=args.checkpoint[0])
    merged = load_config(RunConfig, data=run_config_to_dict(stored), overrides=args.overrides)
    return validate_run_config(merged)


def _split_overrides(args: argparse.Namespace) -> None:
    """``--checkpoint a.pt b.pt data.root=X`` : argparse gives the override to the checkpoints."""
    checkpoints, overrides = [], []
    for item in args.checkpoint:
        is_override = "=" in item and not Path(item).exists()
        (overrides if is_override else checkpoints).append(item)
    args.checkpoint = checkpoints
    args.overrides = [*overrides, *args.overrides]
    if not checkpoints:
        raise InputError("--checkpoint needs at least one checkpoint file")


def run(args: argparse.Namespace) -> int:
    from avaloc.engine.predict import predict_split
    from avaloc.formats import read_label_map

    _split_overrides(args)
    if args.evaluate and not args.gt:
        raise InputError("--evaluate needs --gt GT.csv")
    if args.score_decimals < 1 or args.score_decimals > 9:
        raise InputError(f"--score-decimals must be in 1..9, got {args.score_decimals}")
    config = _run_config(args)
    summary = predict_split(
        args.checkpoint,
        args.out,
        config=config,
        split=args.data,
        scales=args.scales,
        flip=args.flip,
        weights=args.weights,
        boxes=args.boxes,
        score_thresh=args.score_thresh,
        gt_boxes=args.gt_boxes,
        ground_truth=args.gt if args.gt_boxes else None,
        engine=args.engine,
        precision=args.precision,
        batch_size=args.batch_size,
        num_workers=args.workers,
        device=args.device,
        keep_det_scores=args.keep_det_scores,
        score_decimals=args.score_decimals,
        output_classes=read_label_map(args.classes).ids if args.classes else None,
        resume=args.resume,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(f"wrote {args.out}: {summary.line()}")
    if args.evaluate:
        _evaluate(args, config)
    return 0


def _evaluate(args: argparse.Namespace, config) -> None:
    from avaloc.evaluation import evaluate_files

    label_map, excluded = args.label_map, args.excluded
    if label_map is None or excluded is None:
        if config is None:
            from avaloc.engine.predict import load_predictor

            _, config, _ = load_predictor(args.checkpoint[0], args.engine, args.device)
        if config is None and label_map is None:
            raise InputError("--evaluate needs --label-map (the model carries no config)")
    if label_map is None:
        label_map = config.data.path(config.data.label_map)
    if excluded is None and config is not None:
        # the keyframes the prediction skipped must not count as misses
        name = config.data.train_excluded if args.data == "train" else config.data.val_excluded
        if name is not None and config.data.path(name).is_file():
            excluded = config.data.path(name)
    evaluation = evaluate_files(args.gt, args.out, label_map, excluded)
    result = evaluation.result
    shown = f", excluded {excluded}" if excluded else ""
    print(f"frame-mAP@0.5 {result.mAP:.4f} ({args.gt}, {len(result.per_class)} classes{shown})")
    if args.json:
        from avaloc.fileio import atomic_write

        with atomic_write(Path(args.json)) as handle:
            json.dump(result.to_json(), handle, indent=1)
