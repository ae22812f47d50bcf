"""Clip decoding speed: PyAV with seeking (avaloc's reader) vs decoding from the start, vs OpenCV.

For each video, the same random keyframe clips (PySlowFast 32x2: 32 frames every 2nd frame of a
64-frame window at 30 fps, mapped to the video's rate) are read by

* ``pyav-seek``     avaloc.video.VideoReader: seek to the keyframe before the clip, decode forward;
* ``pyav-seek-thr`` the same with FFmpeg frame+slice threads (2);
* ``pyav-start``    PyAV decoding from the first frame to the clip (no seek);
* ``cv2-seek``      cv2.VideoCapture + CAP_PROP_POS_FRAMES, then grab/retrieve forward;
* ``cv2-start``     cv2.VideoCapture reading from the first frame.

Figures: clips/s and wall ms per clip, CPU ms per clip (all threads; the fair figure on a shared
machine), the ratio to ``pyav-seek``, and on the generated numbered video whether every returned
frame is the frame asked for. The methods run interleaved, ``--rounds`` times; the best round
counts. Runs on the real videos beside the repo
(10 fps) and on a generated 30 fps 640x360 H.264 video (GOP 30, 60 s).

    .venv/bin/python benchmarks/bench_video.py [--clips 12] [--seconds 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from avaloc.video import VideoReader, clip_frame_indices
from avaloc.video.testing import decode_frame_number, write_numbered_video

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video"


def pyav_from_start(path: Path, indices: np.ndarray) -> np.ndarray:
    wanted = set(indices.tolist())
    frames = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                frames[i] = frame.to_ndarray(format="rgb24")
            if i >= indices.max():
                break
    return np.stack([frames[i] for i in indices.tolist()])


class Cv2Reader:
    def __init__(self, path: Path) -> None:
        self.capture = cv2.VideoCapture(str(path))

    def read(self, indices: np.ndarray, seek: bool) -> np.ndarray:
        first, last = int(indices.min()), int(indices.max())
        if seek:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, first)
            position = first
        else:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            position = 0
        wanted = set(indices.tolist())
        frames = {}
        while position <= last:
            if not self.capture.grab():
                break
            if position in wanted:
                _, bgr = self.capture.retrieve()
                frames[position] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            position += 1
        return np.stack([frames[i] for i in indices.tolist()])


def clips_of(reader: VideoReader, count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, reader.num_frames, count)
    return [
        clip_frame_indices(int(c), 32, 2, fps=reader.fps, total_frames=reader.num_frames)
        for c in centres
    ]


def timed(
    read: Callable[[np.ndarray], np.ndarray], clips: list[np.ndarray]
) -> tuple[float, float, list]:
    """(wall seconds, CPU seconds, outputs) of reading every clip."""
    wall, cpu = time.perf_counter(), time.process_time()
    outputs = [read(c) for c in clips]
    return time.perf_counter() - wall, time.process_time() - cpu, outputs


def bench(path: Path, clips_count: int, numbered: bool, rounds: int) -> None:
    reader = VideoReader(path)
    threaded = VideoReader(path, threads=2)
    clips = clips_of(reader, clips_count)
    cv_reader = Cv2Reader(path)
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "pyav-seek": reader.read_frames,
        "pyav-seek-thr": threaded.read_frames,
        "pyav-start": lambda idx: pyav_from_start(path, idx),
        "cv2-seek": lambda idx: cv_reader.read(idx, seek=True),
        "cv2-start": lambda idx: cv_reader.read(idx, seek=False),
    }
    print(
        f"\n{path.name}: {reader.width}x{reader.height}, {reader.fps:g} fps, "
        f"{reader.num_frames} frames; {len(clips)} clips of 32 frames (32x2 at 30 fps)"
    )
    print(f"{'method':<15}{'clips/s':>9}{'ms/clip':>9}{'cpu ms':>8}{'vs seek':>9}  frames correct")
    best: dict[str, tuple[float, float]] = {}
    outputs: dict[str, list] = {}
    for read in methods.values():
        read(clips[0])  # warm up: open the file, first decode
    for _ in range(rounds):
        for name, read in methods.items():
            wall, cpu, outputs[name] = timed(read, clips)
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    base = best["pyav-seek"][0]
    for name, (wall, cpu) in best.items():
        correct = "-"
        if numbered:
            ok = sum(
                [decode_frame_number(f) for f in out] == clip.tolist()
                for out, clip in zip(outputs[name], clips)
            )
            correct = f"{ok}/{len(clips)}"
        n = len(clips)
        print(
            f"{name:<15}{n / wall:>9.1f}{wall / n * 1000:>9.1f}{cpu / n * 1000:>8.1f}"
            f"{base / wall:>8.2f}x  {correct}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=60, help="length of the generated video")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in ("vtest_pets2009_480x360.mp4", "one-by-one-person-detection.mp4"):
        if (SHARED / name).is_file():
            bench(SHARED / name, args.clips, numbered=False, rounds=args.rounds)
        else:
            print(f"\n{name}: not found under {SHARED}, skipped")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_numbered_video(
            Path(tmp) / "numbered_640x360.mp4", 30 * args.seconds, width=640, height=360, gop=30
        )
        bench(path, args.clips, numbered=True, rounds=args.rounds)


if __name__ == "__main__":
    main()
