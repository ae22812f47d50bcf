"""A pass over a dataset before training: every video exists and decodes, every keyframe lies
inside its video. Problems are collected (not raised one by one) so a user sees them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from avaloc.data.classification import read_clip_list
from avaloc.data.config import DataConfig
from avaloc.data.sources import VideoSources
from avaloc.errors import InputError
from avaloc.formats import (
    filter_keyframes,
    read_detections,
    read_excluded_timestamps,
    read_ground_truth,
    read_label_map,
)
from avaloc.video import FrameSource, open_video


@dataclass
class VideoInfo:
    video_id: str
    path: str
    fps: float
    num_frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


@dataclass
class CheckReport:
    """What :func:`check_dataset` found: per-video facts and a list of problems."""

    videos: dict[str, VideoInfo] = field(default_factory=dict)
    keyframes: int = 0
    keyframes_checked: int = 0
    clips: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        fps = ", ".join(f"{f:g}" for f in sorted({v.fps for v in self.videos.values()}))
        sizes = sorted({(v.width, v.height) for v in self.videos.values()})
        hours = sum(v.duration for v in self.videos.values()) / 3600
        return (
            f"{len(self.videos)} videos decode ({hours:.2f} h; fps {fps};"
            f" {len(sizes)} frame size(s)), {self.keyframes_checked}/{self.keyframes} keyframes "
            f"inside their videos, {self.clips} clips; {len(self.problems)} problem(s)"
        )

    def raise_if_problems(self) -> None:
        if self.problems:
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise InputError(f"dataset check failed: {self.problems[0]}{more}")


def _probe(source: FrameSource, decode_frames: int) -> None:
    """Decode ``decode_frames`` frames spread over the video (first and last included)."""
    count = max(min(decode_frames, source.num_frames), 1)
    indices = np.unique(np.linspace(0, source.num_frames - 1, count).round().astype(np.int64))
    for index in indices.tolist():
        source.read_frames([index])


def check_dataset(
    config: DataConfig,
    splits: Sequence[str] = ("train", "val"),
    *,
    decode_frames: int = 3,
    decode_keyframes: bool = False,
    clips: bool = True,
    progress: bool = True,
) -> CheckReport:
    """Check the annotations, videos and keyframes of ``splits`` (and the clip lists).

    Each referenced video must exist and decode (``decode_frames`` frames spread over it, or
    every keyframe with ``decode_keyframes``); each keyframe timestamp must map to a frame
    inside its video. Malformed annotation files raise InputError at once; everything else is
    collected in the report.
    """
    config.validate()
    report = CheckReport()
    sources = VideoSources(config)
    label_map = read_label_map(config.path(config.label_map))
    keyframes: dict[str, set[int]] = {}
    for split in splits:
        annotations = config.train_annotations if split == "train" else config.val_annotations
        excluded_name = config.train_excluded if split == "train" else config.val_excluded
        detections_name = config.train_detections if split == "train" else config.val_detections
        tables = []
        path = config.path(annotations)
        if path.is_file():
            rows = read_ground_truth(path, label_ids=label_map.ids)
            if excluded_name is not None and config.path(excluded_name).is_file():
                rows = filter_keyframes(rows, read_excluded_timestamps(config.path(excluded_name)))
            tables.append(rows)
        elif detections_name is None:
            report.problems.append(f"{path}: annotation file of split {split!r} not found")
        if detections_name is not None:
            tables.append(read_detections(config.path(detections_name)))
        for table in tables:
            for video_id, timestamp in zip(table["video_id"].tolist(), table["timestamp"].tolist()):
                keyframes.setdefault(str(video_id), set()).add(int(timestamp))
    report.keyframes = sum(len(t) for t in keyframes.values())
    for video_id in tqdm(
        sorted(keyframes), desc="check videos", unit="video", disable=not progress
    ):
        try:
            source = sources.open(video_id)
            _probe(source, decode_frames)
        except InputError as exc:
            report.problems.append(f"video {video_id!r}: {exc.message}")
            continue
        report.videos[video_id] = VideoInfo(
            video_id, str(source.path), source.fps, source.num_frames, source.width, source.height
        )
        start = sources.start_second(source)
        for timestamp in sorted(keyframes[video_id]):
            index = source.frame_index(timestamp, start_second=start)
            if not 0 <= index < source.num_frames:
                report.problems.append(
                    f"video {video_id!r}: keyframe {timestamp} is frame {index}, outside its "
                    f"{source.num_frames} frames ({source.duration:.2f} s at {source.fps:g} fps, "
                    f"frame 0 = second {start:g})"
                )
                continue
            if decode_keyframes:
                try:
                    source.read_frames([index])
                except InputError as exc:
                    report.problems.append(
                        f"video {video_id!r}: keyframe {timestamp}: {exc.message}"
                    )
                    continue
            report.keyframes_checked += 1
    if clips:
        for split in splits:
            name = config.train_clips if split == "train" else config.val_clips
            if not config.path(name).is_file():
                continue
            for relative, _ in read_clip_list(config.path(name)):
                report.clips += 1
                try:
                    _probe(open_video(config.path(relative)), decode_frames)
                except InputError as exc:
                    report.problems.append(f"clip {relative!r}: {exc.message}")
    return report
