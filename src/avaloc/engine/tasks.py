"""The report's two training tasks on one SlowFast backbone.

- ``classification``: clip-classification pre-training (Kinetics-style: one label per clip,
  softmax cross-entropy), validated by top-1 accuracy on the val clips.
- ``detection``: AVA fine-tuning (multi-label BCE on the logits of the RoI head over person
  boxes), with CP-IA copies added to the sample list and label subsampling as the per-sample label
  transform (both from ``config.balance``), validated by frame-mAP on the val split.

PySlowFast applies a sigmoid in the head and ``BCELoss``; ``binary_cross_entropy_with_logits``
is the same function, computed stably.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from avaloc.balance import LabelSubsampler, cpia_sample_instances, epoch_composition, jitter_box
from avaloc.data import (
    AvaDataset,
    ClipClassificationDataset,
    collate_classification,
    collate_detection,
    read_clip_list,
)
from avaloc.engine.config import RunConfig
from avaloc.engine.task import Task, move_to
from avaloc.errors import InputError
from avaloc.formats import DETECTION_COLUMNS, read_excluded_timestamps, read_ground_truth
from avaloc.models import build_model, resolve_config
from avaloc.seeding import torch_generator

_INIT_STREAM = 3


def _check_model(config: RunConfig, head: str) -> None:
    resolved = resolve_config(config.model)
    if resolved.head != head:
        raise InputError(
            f"task '{config.train.task}' needs a model with a '{head}' head; "
            f"'{config.model.name}' has '{resolved.head}'",
            key="model.name",
        )
    if resolved.alpha != config.data.alpha:
        raise InputError(
            f"data.alpha ({config.data.alpha}) must equal the model's alpha ({resolved.alpha})",
            key="data.alpha",
        )


def _with_num_classes(config: RunConfig, num_classes: int, source: str) -> RunConfig:
    if config.model.num_classes != num_classes:
        print(
            f"model.num_classes set to {num_classes} (from {source}; the config had "
            f"{config.model.num_classes})",
            file=sys.stderr,
        )
        config = dataclasses.replace(
            config, model=dataclasses.replace(config.model, num_classes=num_classes)
        )
    return config


class _TaskBase:
    def build_model(self, config: RunConfig) -> nn.Module:
        generator = torch_generator(config.train.seed, _INIT_STREAM)
        return build_model(config.model, generator=generator)

    def _loader(self, dataset: Dataset, config: RunConfig, collate) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=config.train.eval_batch_size,
            shuffle=False,
            collate_fn=collate,
            num_workers=config.train.num_workers,
        )


class ClassificationTask(_TaskBase):
    """Clip-classification pre-training."""

    collate = staticmethod(collate_classification)

    def prepare(self, config: RunConfig) -> RunConfig:
        _check_model(config, "classification")
        clips = read_clip_list(config.data.path(config.data.train_clips))
        return _with_num_classes(config, max(label for _, label in clips) + 1, "the clip list")

    def train_dataset(self, config: RunConfig) -> Dataset:
        # rank 0 for every process: draws depend on (seed, epoch, sample) only, not the world size
        return ClipClassificationDataset(config.data, "train", seed=config.train.seed)

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        logits = model(batch["inputs"])
        labels = batch["labels"]
        return F.cross_entropy(logits.float(), labels), len(labels)

    def validate(self, model: nn.Module, config: RunConfig, device: torch.device) -> dict:
        dataset = ClipClassificationDataset(config.data, "val", seed=config.train.seed)
        correct = total = 0
        for batch in self._loader(dataset, config, collate_classification):
            batch = move_to(batch, device)
            predicted = model(batch["inputs"]).argmax(dim=1)
            correct += int((predicted == batch["labels"]).sum())
            total += len(batch["labels"])
        return {"top1": correct / max(total, 1)}


class DetectionTask(_TaskBase):
    """AVA detection fine-tuning with optional CP-IA and label subsampling."""

    collate = staticmethod(collate_detection)

    def __init__(self) -> None:
        self._val: AvaDataset | None = None

    def prepare(self, config: RunConfig) -> RunConfig:
        _check_model(config, "roi")
        from avaloc.formats import read_label_map

        label_map = read_label_map(config.data.path(config.data.label_map))
        return _with_num_classes(config, len(label_map), "the label map")

    def train_dataset(self, config: RunConfig) -> Dataset:
        dataset = AvaDataset(config.data, "train", seed=config.train.seed)
        balance = config.balance
        if not (balance.cpia or balance.ls):
            return dataset
        composition = epoch_composition(dataset.instances, dataset.class_ids, balance)
        if balance.ls:
            dataset.label_transform = LabelSubsampler(composition.drop_prob)
        if balance.cpia and composition.extra_samples:
            copies = dataset.instance_samples(cpia_sample_instances(composition.repeats))
            dataset = dataset.with_samples([*dataset.samples, *copies])
            dataset.box_jitter = functools.partial(
                jitter_box, scale=balance.jitter_scale, shift=balance.jitter_shift
            )
        print(
            f"balance: {len(dataset)} samples ({composition.extra_samples} CP-IA copies), "
            f"label subsampling on {int((composition.drop_prob > 0).sum())} classes",
            file=sys.stderr,
        )
        return dataset

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        boxes, labels = batch["boxes"], batch["labels"]
        clips = len(batch["inputs"][0])
        if len(boxes) == 0:  # every box cropped away: a zero loss that still reaches all weights
            return sum(p.sum() for p in model.parameters()) * 0.0, clips
        logits = model(batch["inputs"], boxes)
        return F.binary_cross_entropy_with_logits(logits.float(), labels), clips

    def validation_dataset(self, config: RunConfig) -> AvaDataset:
        if self._val is None:
            self._val = AvaDataset(config.data, "val", train=False, seed=config.train.seed)
        return self._val

    def predict_rows(self, model: nn.Module, config: RunConfig, device: torch.device):
        """AVA detection rows (one per box and class) of the val split, sigmoid scores."""
        dataset = self.validation_dataset(config)
        class_ids = np.asarray(dataset.class_ids)
        parts = []
        for batch in self._loader(dataset, config, collate_detection):
            meta = batch["metadata"]
            if len(batch["boxes"]) == 0:
                continue
            batch = move_to(batch, device)
            scores = torch.sigmoid(model(batch["inputs"], batch["boxes"]).float()).cpu().numpy()
            owner = batch["boxes"][:, 0].long().cpu().numpy()
            norm = meta["norm_boxes"].numpy()
            count, classes = scores.shape
            frame = pd.DataFrame(
                {
                    "video_id": np.repeat(
                        np.asarray(meta["video_id"], dtype=object)[owner], classes
                    ),
                    "timestamp": np.repeat(np.asarray(meta["timestamp"])[owner], classes),
                    **{
                        name: np.repeat(norm[:, j], classes)
                        for j, name in enumerate(("x1", "y1", "x2", "y2"))
                    },
                    "action_id": np.tile(class_ids, count),
                    "score": scores.reshape(-1),
                }
            )
            parts.append(frame)
        if not parts:
            return pd.DataFrame(columns=DETECTION_COLUMNS)
        return pd.concat(parts, ignore_index=True)[DETECTION_COLUMNS]

    def validate(self, model: nn.Module, config: RunConfig, device: torch.device) -> dict:
        from avaloc.evaluation import frame_map

        dataset = self.validation_dataset(config)
        data = config.data
        ground_truth = read_ground_truth(
            data.path(data.val_annotations), label_ids=dataset.class_ids
        )
        excluded: set = set()
        if data.val_excluded and data.path(data.val_excluded).is_file():
            excluded = read_excluded_timestamps(data.path(data.val_excluded))
        predictions = self.predict_rows(model, config, device)
        result = frame_map(ground_truth, predictions, dataset.label_map, excluded)
        return {"mAP": float(result.mAP)}


def make_task(config: RunConfig) -> Task:
    """The task object for ``config.train.task``."""
    return {"classification": ClassificationTask, "detection": DetectionTask}[config.train.task]()
