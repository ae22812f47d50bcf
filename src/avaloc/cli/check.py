"""``avaloc check``: validate a dataset before training (videos exist and decode, keyframes lie
inside their videos, clip lists point at decodable videos)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from avaloc.config import load_config
from avaloc.data import DataConfig, check_dataset
from avaloc.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a dataset: videos exist and decode, timestamps lie inside the videos",
        description="Open every video referenced by the annotations (and clip lists), decode a "
        "few frames of each, and check that every keyframe timestamp maps to a frame inside its "
        "video. Prints a summary and every problem; exits 2 if there is any.",
    )
    parser.add_argument("root", nargs="?", help="dataset directory (sets data.root)")
    parser.add_argument(
        "--config", help="YAML with the data options (a run config's 'data:' section or flat)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a data option, e.g. --set video_dir=clips (repeatable)",
    )
    parser.add_argument("--splits", nargs="+", default=["train", "val"], choices=["train", "val"])
    parser.add_argument(
        "--decode-frames", type=int, default=3, help="frames decoded per video (default 3)"
    )
    parser.add_argument(
        "--decode-keyframes", action="store_true", help="also decode every keyframe (slower)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run)


def load_data_config(path: str | None, root: str | None, overrides: list[str]) -> DataConfig:
    """DataConfig from a YAML file (flat, or the ``data:`` section of a run config)."""
    data = {}
    if path is not None:
        if not Path(path).is_file():
            raise InputError("config file not found", path=path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML ({str(exc).splitlines()[0]})", path=path) from None
        if not isinstance(loaded, dict):
            raise InputError("a config file must hold a mapping of keys", path=path)
        data = loaded.get("data", loaded) if isinstance(loaded.get("data"), dict) else loaded
    if root is not None:
        data = {**data, "root": root}
    return load_config(DataConfig, data=data, overrides=overrides)


def run(args: argparse.Namespace) -> int:
    config = load_data_config(args.config, args.root, args.overrides)
    report = check_dataset(
        config,
        args.splits,
        decode_frames=args.decode_frames,
        decode_keyframes=args.decode_keyframes,
        progress=not args.no_progress and not args.json,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "videos": {
                        k: {
                            "path": v.path,
                            "fps": v.fps,
                            "num_frames": v.num_frames,
                            "width": v.width,
                            "height": v.height,
                        }
                        for k, v in report.videos.items()
                    },
                    "keyframes": report.keyframes,
                    "keyframes_inside": report.keyframes_checked,
                    "clips": report.clips,
                    "problems": report.problems,
                }
            )
        )
    else:
        for problem in report.problems:
            print(f"problem: {problem}", file=sys.stderr)
        print(report.summary())
    report.raise_if_problems()
    return 0
