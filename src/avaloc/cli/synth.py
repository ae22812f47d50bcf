"""``avaloc synth``: render the synthetic AVA miniature (a thin layer over the Python API)."""

from __future__ import annotations

import argparse

from avaloc.synthetic import PRESETS, generate_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate the synthetic AVA-format benchmark (rendered videos + AVA files)",
        description="Render articulated figures performing 20 AVA-style actions into H.264 "
        "videos and write AVA ground truth, label map, excluded timestamps, a clip-"
        "classification split and a README into --out. The same --preset and --seed give "
        "byte-identical annotations and identical decoded frames.",
    )
    parser.add_argument(
        "--out", required=True, help="output folder (empty, new, or a previous synth output)"
    )
    parser.add_argument(
        "--preset",
        choices=list(PRESETS),
        default="tiny",
        help="tiny: unit tests (seconds); small: CI end to end (<1 min); default: the quickstart",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: the preset's)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty folder that is not a previous synth output",
    )
    parser.add_argument(
        "--annotations-only",
        action="store_true",
        help="write the annotation files only (the same as a full run's), no videos or clips",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    generate_dataset(
        args.out,
        preset=args.preset,
        seed=args.seed,
        overwrite=args.overwrite,
        workers=args.workers,
        progress=not args.quiet,
        render_videos=not args.annotations_only,
    )
    return 0
