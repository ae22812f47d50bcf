"""The AVA keyframe dataset: one clip around a keyframe, its person boxes and multi-hot labels.

The dataset is indexed by an explicit list of :class:`Sample` s, so the balancing stage can add
CP-IA samples (one instance of a keyframe, its box jittered), and it applies a per-sample
``label_transform`` (label subsampling). Every random choice of item ``i`` comes from a generator
seeded by ``(seed, epoch, rank, i)`` (:mod:`avaloc.seeding`): a batch depends on the seed, the
epoch and the sample only, not on the number of DataLoader workers.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from avaloc.data.boxes import KeyframeBoxes, build_keyframe_boxes
from avaloc.data.config import DataConfig
from avaloc.data.sources import VideoSources
from avaloc.errors import InputError
from avaloc.formats import (
    Instances,
    LabelMap,
    empty_ground_truth,
    filter_keyframes,
    group_instances,
    read_detections,
    read_excluded_timestamps,
    read_ground_truth,
    read_label_map,
)
from avaloc.seeding import torch_generator
from avaloc.transforms import TestTransform, TrainTransform, TransformedClip, pack_pathway
from avaloc.video import FrameSource, clip_frame_indices

LOGGER = logging.getLogger(__name__)

LabelTransform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
BoxJitter = Callable[[np.ndarray, torch.Generator], np.ndarray]
SPLITS = ("train", "val")


@dataclass(frozen=True)
class Sample:
    """One item: a keyframe (index into ``dataset.boxes.keyframes``) and which of its ground-truth
    instances it holds (None = every box of the keyframe); ``jitter`` applies the dataset's
    ``box_jitter`` to them (CP-IA copies)."""

    keyframe: int
    instances: tuple[int, ...] | None = None
    jitter: bool = False


@dataclass
class SkipCounter:
    """Samples replaced because their video was missing/corrupt or the timestamp outside it."""

    count: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str) -> None:
        self.count += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def clip_around(
    source: FrameSource,
    timestamp: float,
    config: DataConfig,
    *,
    start_second: float,
    shift: int = 0,
) -> np.ndarray:
    """The (T, H, W, 3) frames of the clip centred on ``timestamp`` (InputError if outside)."""
    center = source.frame_index(timestamp, start_second=start_second)
    if not 0 <= center < source.num_frames:
        raise InputError(
            f"timestamp {timestamp} is frame {center}, outside the video's {source.num_frames} "
            f"frames ({source.duration:.2f} s at {source.fps:g} fps, frame 0 = second "
            f"{start_second:g})",
            path=source.path,
        )
    return source.read_frames(clip_indices(source, center, config, shift=shift))


def clip_indices(
    source: FrameSource, center: int, config: DataConfig, *, shift: int = 0
) -> np.ndarray:
    """Frame indices of the configured clip centred on frame ``center`` of ``source``."""
    return clip_frame_indices(
        center,
        config.num_frames,
        config.sampling_rate,
        fps=source.fps,
        sampling_fps=config.sampling_fps,
        shift=shift,
        total_frames=source.num_frames,
    )


def build_train_transform(config: DataConfig) -> TrainTransform | TestTransform:
    """The training view; with ``train_augment`` off, the deterministic test-time view."""
    if not config.train_augment:
        return TestTransform(
            scale=config.test_scale,
            flip=False,
            mean=tuple(config.mean),
            std=tuple(config.std),
            min_box_size=config.min_box_size,
        )
    return TrainTransform(
        scales=tuple(config.train_scales),
        crop_size=config.train_crop_size,
        flip_prob=config.flip_prob,
        color_jitter=config.color_jitter,
        mean=tuple(config.mean),
        std=tuple(config.std),
        min_box_size=config.min_box_size,
    )


def build_test_transform(
    config: DataConfig, scale: int | None = None, flip: bool | None = None
) -> TestTransform:
    return TestTransform(
        scale=config.test_scale if scale is None else scale,
        flip=config.test_flip if flip is None else flip,
        mean=tuple(config.mean),
        std=tuple(config.std),
        min_box_size=0.0,  # the same boxes at every test scale: only empty ones are dropped
    )


class SeededDataset(Dataset):
    """Per-item generators from (seed, epoch, rank, index) and the bad-video policy."""

    seed: int
    epoch: int
    rank: int
    config: DataConfig
    skipped: SkipCounter

    def set_epoch(self, epoch: int) -> None:
        """New random draws for a new epoch (call before creating the epoch's iterator)."""
        self.epoch = int(epoch)

    def generator(self, index: int) -> torch.Generator:
        return torch_generator(self.seed, self.epoch, self.rank, index)

    def _load(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    def _key(self, index: int) -> str:
        raise NotImplementedError

    def _video(self, index: int) -> str:
        """The video (id or path) that sample ``index`` reads."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.config.on_bad_video == "error":
            return self._load(index)
        bad_videos = self.__dict__.setdefault("_bad_videos", set())
        skipped: list[str] = []
        size = len(self)
        for step in range(size):
            candidate = (index + step * 7919) % size  # a prime stride spreads the substitutes
            if self._video(candidate) in bad_videos:
                continue  # known bad in this process: substituted without a new count
            try:
                item = self._load(candidate)
            except InputError as exc:
                if step == 0 or len(skipped) < 20:
                    self._note_skip(exc)
                    skipped.append(f"{self._key(candidate)}: {exc.message}")
                if "outside the video" not in exc.message:
                    bad_videos.add(self._video(candidate))
                continue
            if step == 0:
                return item
            if not skipped:  # the asked sample's video was already known to be bad
                self._note_skip(InputError(f"{self._key(index)}: video known to be bad"))
                skipped.append(f"{self._key(index)}: video known to be bad")
            item["metadata"]["skipped"] = skipped
            return item
        raise InputError(
            f"no loadable sample left after skipping bad ones (first: {skipped[:1] or '?'})"
        )

    def _note_skip(self, exc: InputError) -> None:
        if exc.message not in self.skipped.reasons:
            LOGGER.warning("skipping a sample: %s", exc.message)
        self.skipped.add(exc.message)


class AvaDataset(SeededDataset):
    """Keyframe clips with person boxes and multi-hot labels (PySlowFast's AVA dataset).

    ``train=True`` (default for split "train"): GT boxes (plus detections above
    ``train_detection_threshold`` when ``train_detections`` is set), random augmentation.
    ``train=False``: boxes = detections above ``test_detection_threshold`` (or the GT with
    ``test_boxes="ground_truth"``), short side to ``scale``, full frame.

    Item: ``{"inputs": [slow (3, T/alpha, H, W), fast (3, T, H, W)], "boxes": (k, 4) input pixels,
    "labels": (k, C) float multi-hot over the label map, "metadata": {...}}``.
    """

    def __init__(
        self,
        config: DataConfig,
        split: str = "train",
        *,
        train: bool | None = None,
        ground_truth: pd.DataFrame | None = None,
        detections: pd.DataFrame | None = None,
        label_map: LabelMap | None = None,
        samples: Sequence[Sample] | None = None,
        label_transform: LabelTransform | None = None,
        box_jitter: BoxJitter | None = None,
        scale: int | None = None,
        flip: bool | None = None,
        seed: int = 0,
        rank: int = 0,
    ) -> None:
        if split not in SPLITS:
            raise InputError(f"split must be one of {SPLITS}, got {split!r}", key="split")
        self.config = config.validate()
        self.split = split
        self.train = split == "train" if train is None else train
        self.label_map = label_map or read_label_map(config.path(config.label_map))
        self.class_ids = self.label_map.ids
        excluded = self._excluded()
        if ground_truth is None:
            ground_truth = self._read_ground_truth()
        ground_truth = filter_keyframes(ground_truth, excluded)
        #: the GT instances (after exclusions): what CP-IA counts and Sample.instances index.
        self.instances: Instances = group_instances(ground_truth)
        if detections is None:
            detections = self._read_detections()
        if self.train or config.test_boxes == "ground_truth":
            self.boxes: KeyframeBoxes = build_keyframe_boxes(
                self.instances,
                self.class_ids,
                detections=detections if self.train else None,
                detection_threshold=config.train_detection_threshold,
                label_transfer_iou=config.label_transfer_iou,
                keyframes_from="ground_truth",
                excluded=excluded,
            )
        else:
            if detections is None:
                raise InputError(
                    "testing on detections needs a detection file", key=f"data.{split}_detections"
                )
            self.boxes = build_keyframe_boxes(
                self.instances,
                self.class_ids,
                detections=detections,
                detection_threshold=config.test_detection_threshold,
                label_transfer_iou=config.label_transfer_iou,
                keyframes_from="detections",
                excluded=excluded,
            )
        self._instance_keyframe = np.full(len(self.instances), -1, dtype=np.int64)
        for k in range(len(self.boxes)):
            rows = self.boxes.rows(k)
            owners = self.boxes.instance[rows]
            self._instance_keyframe[owners[owners >= 0]] = k
        self.samples: list[Sample] = (
            list(samples) if samples is not None else [Sample(k) for k in range(len(self.boxes))]
        )
        self.label_transform = label_transform
        self.box_jitter = box_jitter
        self.transform: TrainTransform | TestTransform = (
            build_train_transform(config)
            if self.train
            else build_test_transform(config, scale, flip)
        )
        self.sources = VideoSources(config)
        self.seed, self.epoch, self.rank = int(seed), 0, int(rank)
        self.skipped = SkipCounter()

    # -- files ------------------------------------------------------------------------------
    def _excluded(self) -> set[tuple[str, int]]:
        name = self.config.train_excluded if self.split == "train" else self.config.val_excluded
        if name is None:
            return set()
        path = self.config.path(name)
        return read_excluded_timestamps(path) if path.is_file() else set()

    def _read_ground_truth(self) -> pd.DataFrame:
        name = (
            self.config.train_annotations if self.split == "train" else self.config.val_annotations
        )
        path = self.config.path(name)
        if not self.train and not path.is_file() and self.config.test_boxes == "detections":
            return empty_ground_truth()
        return read_ground_truth(path, label_ids=self.class_ids)

    def _read_detections(self) -> pd.DataFrame | None:
        name = self.config.train_detections if self.split == "train" else self.config.val_detections
        return None if name is None else read_detections(self.config.path(name))

    # -- samples ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.samples)

    @property
    def keyframes(self) -> list[tuple[str, int]]:
        """(video_id, timestamp) of each sample, in sample order."""
        return [self.boxes.keyframes[s.keyframe] for s in self.samples]

    def instance_samples(
        self, instance_indices: Sequence[int], *, jitter: bool = True
    ) -> list[Sample]:
        """One sample per GT instance index (CP-IA copies: only that box, jittered)."""
        keyframes = self._instance_keyframe[np.asarray(instance_indices, dtype=np.int64)]
        if (keyframes < 0).any():
            raise ValueError("instance index not in this dataset's keyframes")
        return [
            Sample(int(k), (int(i),), jitter)
            for k, i in zip(keyframes.tolist(), np.asarray(instance_indices).tolist())
        ]

    def with_samples(self, samples: Sequence[Sample]) -> AvaDataset:
        """A copy of this dataset indexed by ``samples`` (e.g. keyframes + CP-IA copies)."""
        clone = copy.copy(self)
        clone.samples = list(samples)
        clone.skipped = SkipCounter()
        return clone

    def frame_sizes(self) -> dict[str, tuple[int, int]]:
        """Video id -> (height, width) of its frames (opens each video once)."""
        sizes = {}
        for video_id in dict.fromkeys(v for v, _ in self.boxes.keyframes):
            source = self.sources.open(video_id)
            sizes[video_id] = (int(source.height), int(source.width))
        return sizes

    def _key(self, index: int) -> str:
        video_id, timestamp = self.boxes.keyframes[self.samples[index].keyframe]
        return f"{video_id},{timestamp}"

    def _video(self, index: int) -> str:
        return self.boxes.keyframes[self.samples[index].keyframe][0]

    # -- loading ----------------------------------------------------------------------------
    def _load(self, index: int) -> dict[str, Any]:
        sample = self.samples[index]
        generator = self.generator(index)
        video_id, timestamp = self.boxes.keyframes[sample.keyframe]
        rows = np.arange(
            self.boxes.offsets[sample.keyframe], self.boxes.offsets[sample.keyframe + 1]
        )
        if sample.instances is not None:
            rows = rows[np.isin(self.boxes.instance[rows], sample.instances)]
        norm_boxes = self.boxes.boxes[rows].copy()
        if sample.jitter and self.box_jitter is not None:
            for k in range(len(norm_boxes)):
                norm_boxes[k] = np.asarray(self.box_jitter(norm_boxes[k], generator)).reshape(4)
        labels = torch.from_numpy(self.boxes.labels[rows]).to(torch.float32)
        if self.label_transform is not None:
            labels = self.label_transform(labels, generator)
        source = self.sources.open(video_id)
        shift = 0
        if self.train and self.config.temporal_jitter > 0:
            jitter = self.config.temporal_jitter
            shift = int(torch.randint(-jitter, jitter + 1, (1,), generator=generator))
        frames = clip_around(
            source,
            timestamp,
            self.config,
            start_second=self.sources.start_second(source),
            shift=shift,
        )
        height, width = frames.shape[1:3]
        pixel_boxes = norm_boxes * np.array([width, height, width, height], dtype=np.float64)
        result: TransformedClip = self.transform(frames, pixel_boxes, generator)
        keep = result.keep.numpy()
        return {
            "inputs": pack_pathway(result.clip, self.config.alpha),
            "boxes": result.boxes,
            "labels": labels[result.keep],
            "metadata": {
                "video_id": video_id,
                "timestamp": int(timestamp),
                "norm_boxes": torch.from_numpy(norm_boxes[keep]),
                "box_scores": torch.from_numpy(self.boxes.scores[rows][keep]),
                "instance_index": torch.from_numpy(self.boxes.instance[rows][keep]),
                "frame_size": (int(height), int(width)),
                "input_size": tuple(int(s) for s in result.clip.shape[-2:]),
                "flipped": result.flipped,
                "sample_index": index,
                "skipped": [],
            },
        }
