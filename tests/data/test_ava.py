"""The AVA keyframe dataset: clip frames, boxes, labels, hooks, seeding, bad data."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from avaloc.data import AvaDataset, Sample, collate_detection
from avaloc.errors import InputError

# keyframes after excluding (vidA, 4): vidA@30fps 256x192, vidB@10fps 320x192
KEYFRAMES = [("vidA", 2), ("vidA", 3), ("vidB", 1), ("vidB", 2)]


def test_test_items_hold_the_right_frames_boxes_and_labels(mini_config, frame_numbers):
    mini_config.test_boxes = "ground_truth"
    dataset = AvaDataset(mini_config, "val")
    assert dataset.keyframes == KEYFRAMES and len(dataset) == 4
    item = dataset[0]
    slow, fast = item["inputs"]
    assert fast.shape == (3, 8, 192, 256) and slow.shape == (3, 2, 192, 256)
    # keyframe 2 s at 30 fps = frame 60; 8 frames every 2nd from -8: 52..66; slow = linspace ends
    assert frame_numbers(fast) == list(range(52, 67, 2))
    assert frame_numbers(slow) == [52, 66]
    expected_boxes = np.array([[0.1, 0.2, 0.5, 0.9], [0.6, 0.1, 0.9, 0.8]]) * [256, 192, 256, 192]
    assert np.allclose(item["boxes"].numpy(), expected_boxes, atol=1e-4)
    # label map order (1 stand, 3 walk, 7 talk)
    assert item["labels"].tolist() == [[1, 0, 1], [0, 1, 0]]
    meta = item["metadata"]
    assert (meta["video_id"], meta["timestamp"]) == ("vidA", 2)
    assert np.allclose(meta["norm_boxes"].numpy(), [[0.1, 0.2, 0.5, 0.9], [0.6, 0.1, 0.9, 0.8]])
    assert meta["box_scores"].tolist() == [1.0, 1.0]


def test_a_10fps_video_samples_its_clip_in_30fps_time(mini_config, frame_numbers):
    mini_config.test_boxes = "ground_truth"
    item = AvaDataset(mini_config, "val")[2]  # vidB, 1 s = frame 10 at 10 fps
    # offsets -8..6 at 30 fps = -2.67..2 frames at 10 fps, rounded half up
    assert frame_numbers(item["inputs"][1]) == [7, 8, 9, 9, 10, 11, 11, 12]


def test_pyslowfast_32x2_at_a_clip_edge_repeats_the_first_frame(mini_config, frame_numbers):
    mini_config.test_boxes = "ground_truth"
    mini_config.num_frames, mini_config.sampling_rate = 32, 2
    item = AvaDataset(mini_config, "val")[0]  # frame 60, window 60-32 .. 60+30
    assert frame_numbers(item["inputs"][1]) == list(range(28, 91, 2))
    early = AvaDataset(mini_config, "val")[2]  # vidB 1 s = frame 10 at 10 fps
    numbers = frame_numbers(early["inputs"][1])
    # offsets -32, -30, -28 at 30 fps -> -11, -10, -9 frames -> frames -1 (clamped to 0), 0, 1
    assert numbers[:3] == [0, 0, 1]
    assert numbers[-1] == 20  # offset 30 at 30 fps = 10 frames
    assert numbers == sorted(numbers)


def test_test_boxes_are_detections_above_the_threshold(mini_config):
    mini_config.val_detections = "annotations/val_detections.csv"
    dataset = AvaDataset(mini_config, "val")
    assert dataset.keyframes == [("vidA", 2), ("vidA", 3), ("vidB", 2)]
    item = dataset[0]
    meta = item["metadata"]
    assert np.allclose(meta["norm_boxes"].numpy(), [[0.0, 0.0, 0.05, 0.1], [0.11, 0.2, 0.5, 0.9]])
    assert np.allclose(meta["box_scores"].numpy(), [0.97, 0.95])
    # labels transferred from the GT by IoU (0.975 with person 0; none for the small box)
    assert item["labels"].tolist() == [[0, 0, 0], [1, 0, 1]]
    mini_config.test_detection_threshold = 0.9
    assert AvaDataset(mini_config, "val").keyframes == [("vidA", 2), ("vidB", 2)]


def test_testing_on_detections_without_a_detection_file_is_an_input_error(mini_config):
    with pytest.raises(InputError, match="val_detections"):
        AvaDataset(mini_config, "val")


def test_train_boxes_add_detections_with_transferred_labels(mini_config):
    mini_config.train_detections = "annotations/train_detections.csv"
    dataset = AvaDataset(mini_config, "train")
    assert dataset.keyframes == KEYFRAMES
    rows = dataset.boxes.rows(0)
    assert dataset.boxes.instance[rows].tolist() == [0, 1, -1, -1]
    assert dataset.boxes.labels[rows].astype(int).tolist() == [
        [1, 0, 1],
        [0, 1, 0],
        [0, 0, 0],  # unmatched detection: a negative
        [1, 0, 1],  # IoU 0.975 with person 0
    ]
    assert dataset.boxes.rows(1).stop - dataset.boxes.rows(1).start == 1  # 0.86 < 0.9
    item = dataset[3]
    assert item["labels"].shape[1] == 3 and (item["boxes"] >= 0).all()
    assert (item["boxes"] <= 96).all()


def test_train_items_are_identical_for_a_seed_whatever_the_workers(mini_config):
    mini_config.temporal_jitter = 3
    mini_config.color_jitter = 0.2
    dataset = AvaDataset(mini_config, "train", seed=7)

    def batches(workers: int):
        loader = DataLoader(
            dataset, batch_size=2, num_workers=workers, collate_fn=collate_detection
        )
        return list(loader)

    serial, parallel = batches(0), batches(2)
    for a, b in zip(serial, parallel):
        assert torch.equal(a["inputs"][1], b["inputs"][1])
        assert torch.equal(a["boxes"], b["boxes"]) and torch.equal(a["labels"], b["labels"])
    dataset.set_epoch(1)
    next_epoch = batches(0)
    assert not all(torch.equal(a["inputs"][1], b["inputs"][1]) for a, b in zip(serial, next_epoch))
    other_seed = AvaDataset(mini_config, "train", seed=8)[0]
    assert not torch.equal(
        other_seed["inputs"][1], AvaDataset(mini_config, "train", seed=7)[0]["inputs"][1]
    )


def test_cpia_samples_and_label_transform_hooks(mini_config):
    calls = []

    def jitter(box, generator):
        calls.append(("jitter", isinstance(generator, torch.Generator)))
        return box + 0.01

    def drop_walk(labels, generator):
        calls.append(("labels", isinstance(generator, torch.Generator)))
        labels = labels.clone()
        labels[:, 1] = 0
        return labels

    mini_config.test_boxes = "ground_truth"  # test mode: no random crop moves the boxes
    base = AvaDataset(
        mini_config, "train", train=False, box_jitter=jitter, label_transform=drop_walk
    )
    extra = base.instance_samples([1])
    assert extra == [Sample(0, (1,), True)]
    dataset = base.with_samples(base.samples + extra)
    assert len(dataset) == 5
    item = dataset[4]
    assert np.allclose(item["metadata"]["norm_boxes"].numpy(), [[0.61, 0.11, 0.91, 0.81]])
    assert item["labels"].tolist() == [[0, 0, 0]]  # person 1 is "walk" only, and walk is dropped
    assert item["metadata"]["instance_index"].tolist() == [1]
    assert ("jitter", True) in calls and ("labels", True) in calls
    plain = dataset[0]
    assert np.allclose(plain["metadata"]["norm_boxes"].numpy()[0], [0.1, 0.2, 0.5, 0.9])


@pytest.fixture
def broken_root(tmp_path, mini_root):
    root = tmp_path / "broken"
    shutil.copytree(mini_root, root)
    return root


def test_missing_video_error_policy_names_the_file(mini_config, broken_root):
    (broken_root / "videos" / "vidB.mp4").unlink()
    mini_config.root = str(broken_root)
    dataset = AvaDataset(mini_config, "train")
    dataset[0]
    with pytest.raises(InputError, match="vidB"):
        dataset[2]


def test_skip_policy_substitutes_and_counts_bad_samples(mini_config, broken_root):
    (broken_root / "videos" / "vidB.mp4").write_bytes(b"corrupt" * 50)
    mini_config.root = str(broken_root)
    mini_config.on_bad_video = "skip"
    dataset = AvaDataset(mini_config, "train")
    loader = DataLoader(dataset, batch_size=2, collate_fn=collate_detection)
    skipped = [reason for batch in loader for reason in batch["metadata"]["skipped"]]
    assert len(skipped) == 2 and all("vidB" in r for r in skipped)
    assert dataset.skipped.count == 2
    item = dataset[2]
    assert item["metadata"]["video_id"] == "vidA" and item["metadata"]["skipped"]


def test_timestamp_outside_the_video_is_a_bad_sample(mini_config, broken_root):
    import pandas as pd

    from avaloc.formats import read_ground_truth, write_ground_truth

    path = broken_root / "annotations" / "train.csv"
    rows = read_ground_truth(path)
    late = rows.iloc[[0]].assign(video_id="vidB", timestamp=9)
    write_ground_truth(pd.concat([rows, late]), path)
    mini_config.root = str(broken_root)
    dataset = AvaDataset(mini_config, "train")
    with pytest.raises(InputError, match="outside the video"):
        dataset[len(dataset) - 1]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"train_crop_size": 300}, "data.train_crop_size"),
        ({"on_bad_video": "ignore"}, "data.on_bad_video"),
        ({"num_frames": 0}, "data.num_frames"),
        ({"test_boxes": "oracle"}, "data.test_boxes"),
    ],
)
def test_invalid_data_config_values_name_their_key(mini_config, change, key):
    for name, value in change.items():
        setattr(mini_config, name, value)
    with pytest.raises(InputError) as info:
        AvaDataset(mini_config, "train")
    assert info.value.key == key


def test_unknown_video_extension_lists_what_was_tried(mini_config):
    mini_config.video_extensions = [".webm"]
    with pytest.raises(InputError, match=r"vidA\.webm"):
        AvaDataset(mini_config, "train")[0]


def test_train_augment_off_gives_the_test_view():
    """The Table 2 baseline trains on the deterministic test-time view."""
    import numpy as np
    import torch

    from avaloc.data import DataConfig, build_train_transform

    config = DataConfig(train_augment=False, test_scale=64, train_scales=[96], train_crop_size=80)
    transform = build_train_transform(config)
    frames = np.random.default_rng(0).integers(0, 255, (4, 48, 96, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 5.0, 40.0, 45.0]])
    first = transform(frames, boxes, torch.Generator().manual_seed(1))
    second = transform(frames, boxes, torch.Generator().manual_seed(2))
    assert tuple(first.clip.shape) == (3, 4, 64, 128)  # short side 64, whole frame
    assert torch.equal(first.clip, second.clip) and not first.flipped
    scale = 64 / 48
    np.testing.assert_allclose(
        first.boxes.numpy(), [[10 * scale, 5 * scale, 40 * scale, 60.0]], rtol=1e-5
    )
