"""Batching: boxes concatenated as (K, 5) ``[batch_index, x1, y1, x2, y2]`` (PySlowFast's
convention), clips of different frame sizes padded right/bottom (boxes unaffected), and a batch
sampler that groups samples of one aspect ratio so that test batches need no padding at all.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from torch.utils.data import Sampler

from avaloc.seeding import torch_generator


def stack_padded(clips: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack (3, T, H, W) clips, zero-padding each at the right and bottom to the largest H, W.

    Zero is the mean colour after normalisation. Padding only at the right/bottom keeps every
    box's pixel coordinates valid; the model sees the padding, so bucketing by aspect ratio
    (:class:`AspectRatioBatchSampler`) is preferable when frame sizes differ.
    """
    height = max(c.shape[-2] for c in clips)
    width = max(c.shape[-1] for c in clips)
    if all(c.shape[-2:] == (height, width) for c in clips):
        return torch.stack(list(clips))
    return torch.stack(
        [nnf.pad(c, (0, width - c.shape[-1], 0, height - c.shape[-2])) for c in clips]
    )


def collate_detection(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch :class:`~avaloc.data.AvaDataset` items.

    Returns ``{"inputs": [slow (B, 3, Ts, H, W), fast (B, 3, Tf, H, W)], "boxes": (K, 5)
    [batch_index, x1, y1, x2, y2] in input pixels, "labels": (K, C), "metadata": {"video_id",
    "timestamp", "frame_size", "input_size", "sample_index": lists of B; "norm_boxes" (K, 4),
    "box_scores" (K,), "instance_index" (K,), "skipped": list of skipped-sample reasons}}``.
    """
    pathways = len(batch[0]["inputs"])
    inputs = [stack_padded([item["inputs"][p] for item in batch]) for p in range(pathways)]
    boxes = [
        torch.cat([torch.full((len(item["boxes"]), 1), float(b)), item["boxes"].float()], dim=1)
        for b, item in enumerate(batch)
    ]
    metadata = [item["metadata"] for item in batch]
    return {
        "inputs": inputs,
        "boxes": torch.cat(boxes).reshape(-1, 5),
        "labels": torch.cat([item["labels"] for item in batch]),
        "metadata": {
            "video_id": [m["video_id"] for m in metadata],
            "timestamp": [m["timestamp"] for m in metadata],
            "frame_size": [m["frame_size"] for m in metadata],
            "input_size": [m["input_size"] for m in metadata],
            "sample_index": [m["sample_index"] for m in metadata],
            "norm_boxes": torch.cat([m["norm_boxes"] for m in metadata]).reshape(-1, 4),
            "box_scores": torch.cat([m["box_scores"] for m in metadata]),
            "instance_index": torch.cat([m["instance_index"] for m in metadata]),
            "skipped": [reason for m in metadata for reason in m.get("skipped", [])],
        },
    }


def collate_classification(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch :class:`~avaloc.data.ClipClassificationDataset` items:
    ``{"inputs": [slow, fast], "labels": (B,) long, "metadata": {"path", "skipped"}}``."""
    pathways = len(batch[0]["inputs"])
    return {
        "inputs": [stack_padded([item["inputs"][p] for item in batch]) for p in range(pathways)],
        "labels": torch.tensor([int(item["label"]) for item in batch], dtype=torch.long),
        "metadata": {
            "path": [item["metadata"]["path"] for item in batch],
            "sample_index": [item["metadata"]["sample_index"] for item in batch],
            "skipped": [r for item in batch for r in item["metadata"].get("skipped", [])],
        },
    }


class AspectRatioBatchSampler(Sampler[list[int]]):
    """Batches whose samples share a group key (e.g. frame size or rounded aspect ratio).

    Within a group, samples keep their order (or are shuffled with ``seed`` and the epoch set by
    :meth:`set_epoch`); the last batch of a group may be short unless ``drop_last``.
    """

    def __init__(
        self,
        group_keys: Sequence[Hashable],
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.group_keys = list(group_keys)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0

    @classmethod
    def from_frame_sizes(
        cls, frame_sizes: Sequence[tuple[int, int]], batch_size: int, *, decimals: int = 2, **kwargs
    ) -> AspectRatioBatchSampler:
        """Group by width / height rounded to ``decimals``."""
        keys = [round(w / h, decimals) for h, w in frame_sizes]
        return cls(keys, batch_size, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _batches(self) -> list[list[int]]:
        groups: dict[Hashable, list[int]] = {}
        order = np.arange(len(self.group_keys))
        if self.shuffle:
            generator = torch_generator(self.seed, self.epoch)
            order = torch.randperm(len(order), generator=generator).numpy()
        for index in order.tolist():
            groups.setdefault(self.group_keys[index], []).append(index)
        batches = []
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                if len(chunk) == self.batch_size or not self.drop_last:
                    batches.append(chunk)
        if self.shuffle:
            generator = torch_generator(self.seed, self.epoch, 1)
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())
