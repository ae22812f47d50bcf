"""Synthetic set generation speed: presets end to end, and rendering vs H.264 encoding per frame.

Baseline (same process): encoding already-rendered frames with the same libx264 settings, the
floor any renderer pays. Prints wall and CPU seconds per preset (CPU time shows the cost on a
machine shared with other jobs, where wall time is inflated).

    .venv/bin/python benchmarks/bench_synthetic.py [--presets tiny small default] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from avaloc.synthetic import PRESETS, generate_dataset
from avaloc.synthetic.dataset import video_scene
from avaloc.synthetic.render import render_frame
from avaloc.video import write_video


def per_frame(preset: str, videos: int = 3) -> None:
    spec = PRESETS[preset]
    render = encode = 0.0
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(videos):
            scene = video_scene(0, index, spec)
            start = time.process_time()
            frames = [render_frame(scene, f)[0] for f in range(scene.script.num_frames)]
            render += time.process_time() - start
            start = time.process_time()
            write_video(Path(tmp) / "v.mp4", frames)
            encode += time.process_time() - start
            count += len(frames)
    print(
        f"{preset:8s} {spec.width}x{spec.height}: render {1e3 * render / count:.2f} ms/frame, "
        f"encode (baseline) {1e3 * encode / count:.2f} ms/frame, "
        f"render/encode {render / encode:.2f}x, "
        f"render+encode {count / (render + encode):.0f} frames/s per core"
    )


def end_to_end(preset: str, seed: int) -> None:
    """Wall time with the preset's workers; the summary line also gives the CPU seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        wall0 = time.perf_counter()
        generate_dataset(Path(tmp) / "set", preset, seed=seed)
        wall = time.perf_counter() - wall0
        wall0 = time.perf_counter()
        generate_dataset(Path(tmp) / "ann", preset, seed=seed, progress=False, render_videos=False)
        ann_wall = time.perf_counter() - wall0
    print(
        f"{preset:8s} full set: {wall:.1f} s wall ({PRESETS[preset].workers} worker(s)); "
        f"annotations only: {ann_wall:.1f} s wall ({wall / max(ann_wall, 1e-9):.0f}x faster)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"], choices=list(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for preset in args.presets:
        per_frame(preset)
    for preset in args.presets:
        end_to_end(preset, args.seed)


if __name__ == "__main__":
    main()
