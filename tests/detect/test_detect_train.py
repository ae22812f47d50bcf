"""Detector training: the loss falls, checkpoints resume exactly, the run directory is complete."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from avaloc.detect import DetectorConfig, build_detector, train_detector
from avaloc.detect.train import (
    PersonBoxes,
    load_trained_detector,
    make_optimizer,
    make_training_batch,
    training_step,
)
from avaloc.errors import InputError
from avaloc.formats import read_ground_truth


def _tiny_config(**train) -> DetectorConfig:
    cfg = DetectorConfig(
        backbone="mobilenet_v3_large_fpn",
        min_size=120,
        max_size=160,
        rpn_pre_nms_top_n_train=200,
        rpn_post_nms_top_n_train=100,
        rpn_pre_nms_top_n_test=200,
        rpn_post_nms_top_n_test=100,
        box_batch_size_per_image=64,
    )
    cfg.train.train_min_sizes = [120]
    cfg.train.batch_size = 2
    cfg.train.base_lr = 0.02
    cfg.train.warmup_iters = 0
    cfg.train.log_every = 1
    for key, value in train.items():
        setattr(cfg.train, key, value)
    return cfg


def _loss(model, images, targets) -> float:
    model.train()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        return float(sum(model(images, targets).values()))


@pytest.mark.slow
def test_training_steps_lower_the_loss(people_data) -> None:
    video_dir, gt_csv, _ = people_data
    cfg = _tiny_config()
    data = PersonBoxes(read_ground_truth(gt_csv), video_dir, cache_mb=64)
    model = build_detector(cfg)
    optimizer = make_optimizer(model, cfg)
    images, targets, _ = make_training_batch(data, [0, 3, 7, 9], cfg, iteration=0)
    before = _loss(model, images, targets)
    for step in range(12):
        batch_images, batch_targets, size = make_training_batch(
            data, [step % len(data), (step + 5) % len(data)], cfg, step
        )
        training_step(model, optimizer, batch_images, batch_targets, min_size=size, model_seed=step)
    after = _loss(model, images, targets)
    assert after < 0.75 * before, (before, after)


def test_flip_moves_boxes_with_the_pixels(people_data) -> None:
    video_dir, gt_csv, _ = people_data
    data = PersonBoxes(read_ground_truth(gt_csv), video_dir)
    plain = _tiny_config(hflip_prob=0.0)
    flipped = _tiny_config(hflip_prob=1.0)
    (image,), (target,), _ = make_training_batch(data, [2], plain, 0)
    (mirror,), (mirror_target,), _ = make_training_batch(data, [2], flipped, 0)
    assert torch.equal(mirror, image.flip(-1))
    width = image.shape[-1]
    expected = torch.stack(
        [
            width - target["boxes"][:, 2],
            target["boxes"][:, 1],
            width - target["boxes"][:, 0],
            target["boxes"][:, 3],
        ],
        dim=1,
    )
    torch.testing.assert_close(mirror_target["boxes"], expected)
    assert target["labels"].tolist() == [1] * len(target["boxes"])


@pytest.mark.slow
def test_resumed_run_matches_an_uninterrupted_one(people_data, tmp_path) -> None:
    video_dir, gt_csv, _ = people_data
    rows = read_ground_truth(gt_csv)
    cfg = _tiny_config(max_iters=4, checkpoint_every=2)
    whole = train_detector(cfg, rows, video_dir, tmp_path / "whole", progress=False)
    assert whole.iterations == 4
    checkpoints = sorted(p.name for p in (tmp_path / "whole" / "checkpoints").iterdir())
    assert checkpoints == ["step_00000002.pt", "step_00000004.pt"]
    # An interruption after the step-2 checkpoint: the later files never got written.
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    (tmp_path / "cut" / "checkpoints" / "step_00000004.pt").unlink()
    (tmp_path / "cut" / "detector.pt").unlink()
    resumed = train_detector(cfg, rows, video_dir, tmp_path / "cut", progress=False)
    assert resumed.iterations == 4
    a, _ = load_trained_detector(whole.weights)
    b, loaded_cfg = load_trained_detector(resumed.weights)
    assert loaded_cfg.backbone == "mobilenet_v3_large_fpn"
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5, msg=name)
    records = [
        json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4]
    assert records[-1]["kind"] == "summary"
    assert (tmp_path / "cut" / "config.yaml").is_file()
    # Starting over removes the old checkpoints (they would otherwise be resumed later).
    restart = _tiny_config(max_iters=1, checkpoint_every=0)
    train_detector(restart, rows, video_dir, tmp_path / "cut", resume=False, progress=False)
    remaining = sorted(p.name for p in (tmp_path / "cut" / "checkpoints").iterdir())
    assert remaining == ["step_00000001.pt"]


def test_train_refuses_hog_and_empty_ground_truth(people_data, tmp_path) -> None:
    video_dir, gt_csv, _ = people_data
    rows = read_ground_truth(gt_csv)
    with pytest.raises(InputError, match="cannot be trained"):
        train_detector(DetectorConfig(backbone="hog"), rows, video_dir, tmp_path / "r")
    with pytest.raises(InputError, match="no person boxes"):
        PersonBoxes(rows.iloc[:0], video_dir)
