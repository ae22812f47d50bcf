"""Clip classification (the report's pre-training): a random clip of a labelled video.

The clips CSV lists ``path,label`` (path relative to the dataset root, label an integer class
index, an optional ``path,label`` header). Training takes a window at a random time of the video
and the training augmentation without boxes; testing takes the centre window, the short side
scaled to ``train_crop_size`` and a centre crop, so that every clip has the same size.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import torch
from torchvision.transforms.v2 import functional as F

from avaloc.data.ava import SeededDataset, SkipCounter, build_train_transform, clip_indices
from avaloc.data.config import DataConfig
from avaloc.errors import InputError
from avaloc.transforms import normalize, pack_pathway, short_side_scale, to_boxes, to_video
from avaloc.video import open_video


def read_clip_list(path: str | Path) -> list[tuple[str, int]]:
    """``(relative path, label)`` rows of a clips CSV; InputError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError("clip list not found", path=path)
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line_no, fields in enumerate(csv.reader(handle), 1):
            if not fields or not "".join(fields).strip():
                continue
            if line_no == 1 and [f.strip() for f in fields] == ["path", "label"]:
                continue
            if len(fields) != 2:
                raise InputError(
                    f"expected 'path,label', found {len(fields)} fields", path=path, line=line_no
                )
            clip, label = fields[0].strip(), fields[1].strip()
            if not clip:
                raise InputError("empty path", path=path, line=line_no)
            if not label.isdigit():
                raise InputError(
                    f"label {label!r} is not a class index >= 0", path=path, line=line_no
                )
            rows.append((clip, int(label)))
    if not rows:
        raise InputError("clip list has no clips", path=path)
    return rows


class ClipClassificationDataset(SeededDataset):
    """Labelled video clips: ``{"inputs": [slow, fast], "label": int, "metadata": {...}}``."""

    def __init__(
        self,
        config: DataConfig,
        split: str = "train",
        *,
        train: bool | None = None,
        clips: list[tuple[str, int]] | None = None,
        seed: int = 0,
        rank: int = 0,
    ) -> None:
        self.config = config.validate()
        self.split = split
        self.train = split == "train" if train is None else train
        name = config.train_clips if split == "train" else config.val_clips
        self.clips = clips if clips is not None else read_clip_list(config.path(name))
        self.transform = build_train_transform(config)
        self.seed, self.epoch, self.rank = int(seed), 0, int(rank)
        self.skipped = SkipCounter()

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def num_classes(self) -> int:
        return max(label for _, label in self.clips) + 1

    def _key(self, index: int) -> str:
        return self.clips[index][0]

    def _video(self, index: int) -> str:
        return self.clips[index][0]

    def _load(self, index: int) -> dict[str, Any]:
        relative, label = self.clips[index]
        reader = open_video(self.config.path(relative))
        generator = self.generator(index)
        config = self.config
        scale = reader.fps / config.sampling_fps if config.sampling_fps else 1.0
        window = max(round(config.num_frames * config.sampling_rate * scale), 1)
        if self.train:
            # PySlowFast's Kinetics sampling: a window starting uniformly where it fits.
            start = int(
                torch.randint(max(reader.num_frames - window, 0) + 1, (1,), generator=generator)
            )
        else:
            start = max(reader.num_frames - window, 0) // 2
        center = start + window // 2
        frames = reader.read_frames(clip_indices(reader, center, config))
        if self.train:
            clip = self.transform(frames, None, generator).clip
        else:
            video = to_video(frames)
            video, _ = short_side_scale(
                video, to_boxes(None, *video.shape[-2:]), config.train_crop_size
            )
            video = F.center_crop(video, [config.train_crop_size, config.train_crop_size])
            clip = normalize(video, config.mean, config.std)
        return {
            "inputs": pack_pathway(clip, config.alpha),
            "label": label,
            "metadata": {"path": relative, "sample_index": index, "skipped": []},
        }
