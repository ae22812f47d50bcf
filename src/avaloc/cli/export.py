"""``avaloc export``: a detection checkpoint -> ONNX (RoIAlign included), checked vs PyTorch."""

from __future__ import annotations

import argparse

from avaloc.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a detection checkpoint to ONNX for onnxruntime",
        description="Export the full detection model (SlowFast backbone and RoIAlign head) of an "
        "avaloc checkpoint to ONNX, with dynamic batch, frames, height, width and box axes. "
        "The exported model is run once with onnxruntime on random inputs and compared with "
        "PyTorch; a difference above --atol is an error. Run it with "
        "`avaloc predict --engine onnxruntime --checkpoint OUT.onnx`.",
    )
    parser.add_argument("--checkpoint", required=True, help="avaloc checkpoint (.pt)")
    parser.add_argument("--format", choices=["onnx"], default="onnx", help="export format")
    parser.add_argument("--out", required=True, help="file to write (e.g. model.onnx)")
    parser.add_argument(
        "--exporter",
        choices=["torchscript", "dynamo"],
        default="torchscript",
        help="torch.onnx exporter: the TorchScript one (default; torchvision's RoIAlign "
        "symbolic) or the torch.export based one (needs onnxscript; slower to export)",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 16; default 17)")
    parser.add_argument(
        "--size",
        type=int,
        default=None,
        help="short side of the tracing input (default: the config's data.test_scale)",
    )
    parser.add_argument(
        "--atol", type=float, default=1e-4, help="largest |PyTorch - ONNX| logit allowed"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avaloc.config import config_to_dict
    from avaloc.engine.export import (
        OnnxDetector,
        example_inputs,
        export_onnx,
        max_abs_difference,
    )
    from avaloc.engine.weights import load_model_from_checkpoint

    model, config = load_model_from_checkpoint(args.checkpoint)
    classes = int(config.model.num_classes)
    head = getattr(config.model, "head", "roi")
    if head not in (None, "roi"):
        raise InputError(
            f"only detection models (RoI head) are exported; this one has head {head!r}",
            path=args.checkpoint,
        )
    data = config.data
    fast_frames = int(data.num_frames)
    slow_frames = max(fast_frames // int(data.alpha), 1)
    short = int(args.size or data.test_scale)
    long_side = (short * 4 + 2) // 3  # 4:3, the most common AVA frame shape
    inputs = example_inputs(slow_frames, fast_frames, short, long_side)
    metadata = {
        "run_config": config_to_dict(config),
        "num_classes": classes,
        "source_checkpoint": str(args.checkpoint),
    }
    path = export_onnx(
        model, args.out, inputs, exporter=args.exporter, opset=args.opset, metadata=metadata
    )
    detector = OnnxDetector(path)
    check = example_inputs(slow_frames, fast_frames, short + 32, short, batch=3, seed=1)
    difference = max(
        max_abs_difference(model, detector, inputs), max_abs_difference(model, detector, check)
    )
    if difference > args.atol:
        path.unlink(missing_ok=True)
        raise InputError(
            f"the exported model differs from PyTorch by {difference:.3g} > --atol {args.atol}; "
            "nothing written",
            path=args.out,
        )
    print(
        f"wrote {path}: {classes} classes, opset {args.opset}, {args.exporter} exporter; "
        f"max |PyTorch - onnxruntime| = {difference:.2e} on two input shapes"
    )
    return 0
