"""Clip classification dataset, the check pass and its CLI, frame-directory datasets."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from avaloc.cli.main import main
from avaloc.data import (
    AvaDataset,
    ClipClassificationDataset,
    DataConfig,
    check_dataset,
    collate_classification,
    read_clip_list,
)
from avaloc.errors import InputError
from avaloc.formats import write_ground_truth, write_label_map
from avaloc.video.testing import numbered_frame, write_numbered_video


def test_classification_items_and_collate(mini_config):
    dataset = ClipClassificationDataset(mini_config, "train", seed=1)
    assert len(dataset) == 2 and dataset.num_classes == 2
    item = dataset[0]
    assert item["inputs"][1].shape == (3, 8, 96, 96) and item["inputs"][0].shape == (3, 2, 96, 96)
    assert item["label"] == 0
    again = ClipClassificationDataset(mini_config, "train", seed=1)[0]
    assert torch.equal(item["inputs"][1], again["inputs"][1])
    batch = collate_classification([dataset[0], dataset[1]])
    assert batch["labels"].tolist() == [0, 1] and batch["labels"].dtype == torch.long
    assert batch["inputs"][1].shape == (2, 3, 8, 96, 96)
    val = ClipClassificationDataset(mini_config, "val")
    assert val[0]["inputs"][1].shape == (3, 8, 96, 96)
    assert torch.equal(val[0]["inputs"][1], val[0]["inputs"][1])


def test_classification_val_takes_the_centre_window(tmp_path, mini_config, frame_numbers):
    square = write_numbered_video(tmp_path / "square.mp4", 40, fps=10, width=192, height=192)
    mini_config.train_crop_size = 192  # no crop: the frame numbers stay readable
    mini_config.train_scales = [192]
    item = ClipClassificationDataset(mini_config, "val", clips=[(str(square), 4)])[0]
    # window = 8 x 2 frames at 30 fps = 5.33 -> 5 frames at 10 fps; start (40 - 5) // 2 = 17,
    # centre 19; offsets -8..6 at 30 fps -> -3, -2, -1, -1, 0, 1, 1, 2
    numbers = frame_numbers(item["inputs"][1])
    assert numbers == [16, 17, 18, 18, 19, 20, 20, 21]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,label\nvideos/a.mp4\n", "2: expected 'path,label'"),
        ("videos/a.mp4,x\n", "1: label 'x'"),
        ("path,label\n", "no clips"),
        (",3\n", "1: empty path"),
    ],
)
def test_clip_list_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "clips.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_clip_list(path)


def test_check_dataset_passes_a_good_dataset(mini_config):
    report = check_dataset(mini_config, progress=False)
    assert report.ok, report.problems
    assert set(report.videos) == {"vidA", "vidB"}
    assert report.videos["vidB"].fps == 10.0 and report.videos["vidB"].num_frames == 40
    assert report.keyframes == 4  # distinct keyframes of both splits, (vidA, 4) excluded
    assert report.clips == 3
    assert "2 videos decode" in report.summary()


def test_check_dataset_reports_every_problem(tmp_path, mini_root):
    import shutil

    root = tmp_path / "bad"
    shutil.copytree(mini_root, root)
    (root / "videos" / "vidB.mp4").write_bytes(b"broken" * 10)
    rows = pd.read_csv(root / "annotations" / "train.csv", header=None)
    extra = pd.DataFrame(
        [["vidA", 9, 0.1, 0.1, 0.2, 0.2, 1, 0], ["vidC", 2, 0.1, 0.1, 0.2, 0.2, 1, 0]]
    )
    pd.concat([rows, extra]).to_csv(root / "annotations" / "train.csv", header=False, index=False)
    report = check_dataset(DataConfig(root=str(root)), progress=False)
    assert not report.ok
    text = "\n".join(report.problems)
    assert "vidB" in text and "cannot open video" in text
    assert "vidC" in text and "not found" in text
    assert "keyframe 9 is frame 270, outside its 180 frames" in text
    assert "clip 'videos/vidB.mp4'" in text
    with pytest.raises(InputError, match="dataset check failed"):
        report.raise_if_problems()
    # the CLI: problems on stderr, summary, exit 2
    assert main(["check", str(root), "--no-progress"]) == 2
    assert main(["check", str(mini_root), "--no-progress"]) == 0


def test_check_cli_json_and_config_file(tmp_path, mini_root, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(f"data:\n  root: {mini_root}\n  num_frames: 8\n")
    assert main(["check", "--config", str(config), "--json", "--splits", "train"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["videos"]["vidA"]["fps"] == 30.0
    assert main(["check", str(mini_root), "--set", "no_such_key=1"]) == 2
    assert "no_such_key" in capsys.readouterr().err


def test_frame_directory_dataset_uses_the_second_900_convention(tmp_path, frame_numbers):
    frames = tmp_path / "frames" / "vidF"
    frames.mkdir(parents=True)
    for i in range(120):
        bgr = cv2.cvtColor(numbered_frame(i, 192, 256), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(frames / f"vidF_{i + 1:06d}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    rows = pd.DataFrame(
        [["vidF", 902, 0.1, 0.1, 0.5, 0.5, 1, 0]],
        columns=["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"],
    )
    write_ground_truth(rows, tmp_path / "annotations" / "val.csv")
    write_label_map({1: "stand"}, tmp_path / "annotations" / "label_map.pbtxt")
    config = DataConfig(
        root=str(tmp_path),
        frame_dir="frames",
        num_frames=8,
        sampling_rate=2,
        test_scale=192,
        test_boxes="ground_truth",
    )
    item = AvaDataset(config, "val")[0]
    # second 902 = frame (902 - 900) * 30 = 60 of the directory
    assert frame_numbers(item["inputs"][1]) == list(range(52, 67, 2))
    assert check_dataset(config, ["val"], progress=False).ok
    config.start_second = 0.0  # a wrong convention puts the keyframe far outside the frames
    report = check_dataset(config, ["val"], progress=False)
    assert "outside" in report.problems[0]
    assert np.isclose(report.videos["vidF"].fps, 30.0)
