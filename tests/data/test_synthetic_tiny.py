"""The data stage on the synthetic AVA miniature's ``tiny`` preset (avaloc.synthetic)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from avaloc.data import (
    AvaDataset,
    ClipClassificationDataset,
    DataConfig,
    check_dataset,
    collate_classification,
    collate_detection,
)
from avaloc.formats import (
    filter_keyframes,
    group_instances,
    read_excluded_timestamps,
    read_ground_truth,
)

synthetic = pytest.importorskip("avaloc.synthetic")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return synthetic.generate_dataset(tmp_path_factory.mktemp("tiny"), "tiny", 0, progress=False)


@pytest.fixture
def tiny_config(tiny_root) -> DataConfig:
    return DataConfig(
        root=str(tiny_root),
        num_frames=8,
        sampling_rate=2,
        train_scales=[112, 128],
        train_crop_size=112,
        test_scale=120,
        test_boxes="ground_truth",
    )


def test_check_passes_on_the_tiny_set(tiny_config):
    report = check_dataset(tiny_config, progress=False)
    assert report.ok, report.problems
    assert {v.fps for v in report.videos.values()} == {30.0}
    assert report.keyframes_checked == report.keyframes > 0


def test_tiny_train_keyframes_and_instances_match_the_annotations(tiny_config, tiny_root):
    rows = read_ground_truth(tiny_root / "annotations" / "train.csv")
    excluded = read_excluded_timestamps(tiny_root / "annotations" / "train_excluded_timestamps.csv")
    instances = group_instances(filter_keyframes(rows, excluded))
    dataset = AvaDataset(tiny_config, "train", seed=0)
    assert len(dataset.instances) == len(instances)
    assert len(dataset) == len(instances.keyframe_keys())
    assert not set(dataset.keyframes) & excluded
    assert dataset.boxes.labels.sum() == len(
        [a for a in instances.label_ids if a in dataset.class_ids]
    )
    batch = next(iter(DataLoader(dataset, batch_size=4, collate_fn=collate_detection)))
    slow, fast = batch["inputs"]
    assert fast.shape == (4, 3, 8, 112, 112) and slow.shape == (4, 3, 2, 112, 112)
    assert (batch["boxes"][:, 1:] >= 0).all() and (batch["boxes"][:, 1:] <= 112).all()
    assert batch["labels"].shape[1] == len(dataset.class_ids)
    assert torch.isfinite(fast).all()


def test_tiny_val_boxes_are_the_annotations_in_input_pixels(tiny_config):
    dataset = AvaDataset(tiny_config, "val")
    for index in range(len(dataset)):
        item = dataset[index]
        height, width = item["inputs"][1].shape[-2:]
        expected = item["metadata"]["norm_boxes"].numpy() * [width, height, width, height]
        assert np.allclose(item["boxes"].numpy(), expected, atol=1e-3)


def test_tiny_clip_classification(tiny_config, tiny_root):
    dataset = ClipClassificationDataset(tiny_config, "train")
    lines = (tiny_root / "clips" / "train.csv").read_text().split()
    assert len(dataset) == len(lines)
    batch = collate_classification([dataset[0], dataset[1]])
    assert batch["labels"].tolist() == [int(line.split(",")[1]) for line in lines[:2]]
    assert batch["inputs"][1].shape == (2, 3, 8, 112, 112)
