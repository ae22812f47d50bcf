"""Collate: (K, 5) boxes with batch indices, padding of mixed frame sizes, aspect buckets."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from avaloc.data import AspectRatioBatchSampler, AvaDataset, collate_detection, stack_padded


def test_collate_concatenates_boxes_with_batch_indices_and_pads(mini_config):
    mini_config.test_boxes = "ground_truth"
    dataset = AvaDataset(mini_config, "val")
    items = [dataset[0], dataset[3]]  # vidA 192x256 (2 boxes), vidB 192x320 (1 box)
    batch = collate_detection(items)
    slow, fast = batch["inputs"]
    assert fast.shape == (2, 3, 8, 192, 320) and slow.shape == (2, 3, 2, 192, 320)
    # right/bottom padding with zeros; the original pixels and boxes are untouched
    assert torch.equal(fast[0, :, :, :, :256], items[0]["inputs"][1])
    assert (fast[0, :, :, :, 256:] == 0).all()
    assert batch["boxes"].shape == (3, 5)
    assert batch["boxes"][:, 0].tolist() == [0, 0, 1]
    assert torch.equal(batch["boxes"][:2, 1:], items[0]["boxes"])
    assert torch.equal(batch["boxes"][2:, 1:], items[1]["boxes"])
    assert batch["labels"].shape == (3, 3)
    meta = batch["metadata"]
    assert meta["video_id"] == ["vidA", "vidB"] and meta["timestamp"] == [2, 2]
    assert meta["norm_boxes"].shape == (3, 4) and meta["box_scores"].shape == (3,)
    assert meta["input_size"] == [(192, 256), (192, 320)]


def test_collate_of_clips_without_boxes():
    item = {
        "inputs": [torch.zeros(3, 1, 4, 4), torch.zeros(3, 4, 4, 4)],
        "boxes": torch.zeros(0, 4),
        "labels": torch.zeros(0, 3),
        "metadata": {
            "video_id": "v",
            "timestamp": 1,
            "frame_size": (4, 4),
            "input_size": (4, 4),
            "sample_index": 0,
            "norm_boxes": torch.zeros(0, 4, dtype=torch.float64),
            "box_scores": torch.zeros(0),
            "instance_index": torch.zeros(0, dtype=torch.long),
            "skipped": [],
        },
    }
    batch = collate_detection([item, item])
    assert batch["boxes"].shape == (0, 5) and batch["labels"].shape == (0, 3)


def test_stack_padded_same_sizes_is_a_plain_stack():
    clips = [torch.rand(3, 2, 5, 6) for _ in range(3)]
    assert torch.equal(stack_padded(clips), torch.stack(clips))


def test_aspect_ratio_batch_sampler_groups_and_covers_every_index(mini_config):
    mini_config.test_boxes = "ground_truth"
    dataset = AvaDataset(mini_config, "val")
    sizes = dataset.frame_sizes()
    assert sizes == {"vidA": (192, 256), "vidB": (192, 320)}
    sampler = AspectRatioBatchSampler.from_frame_sizes(
        [sizes[v] for v, _ in dataset.keyframes], batch_size=3
    )
    batches = list(sampler)
    assert batches == [[0, 1], [2, 3]]
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_detection)
    for batch in loader:
        assert len(set(batch["metadata"]["input_size"])) == 1
    keys = [0, 1, 0, 1, 0, 0, 1]
    shuffled = AspectRatioBatchSampler(keys, 2, shuffle=True, seed=3)
    first = list(shuffled)
    assert sorted(i for b in first for i in b) == list(range(7))
    assert all(len({keys[i] for i in b}) == 1 for b in first)
    assert list(shuffled) == first
    shuffled.set_epoch(1)
    assert sorted(i for b in shuffled for i in b) == list(range(7))
    dropped = AspectRatioBatchSampler(keys, 2, drop_last=True)
    assert list(dropped) == [[0, 2], [4, 5], [1, 3]]
    assert len(dropped) == 3
