"""The training loop on the toy task: learning, per-iteration LR, logs, NaN stop, plot-log."""

from __future__ import annotations

import json

import pytest
import torch
from engine_toy import ToyTask, toy_config

from avaloc.engine import (
    TrainingDivergedError,
    latest_checkpoint,
    load_checkpoint,
    lr_at_epoch,
    plot_log,
    train,
)
from avaloc.engine.checkpoint import list_checkpoints
from avaloc.engine.logs import read_metrics
from avaloc.errors import InputError


def test_training_lowers_loss_and_raises_validation(tmp_path):
    config = toy_config(["optim.warmup_epochs=1", "optim.warmup_start_lr=0.02"])
    untrained = ToyTask().validate(ToyTask().build_model(config), config, torch.device("cpu"))
    result = train(config, tmp_path, task=ToyTask())
    records = read_metrics(tmp_path)
    losses = [r["loss"] for r in records if r["kind"] == "train"]
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.5 * first
    assert result.best_metric > untrained["accuracy"] + 0.2
    assert result.global_step == 4 * 64 // 8
    assert (tmp_path / "checkpoints" / "best.pt").is_file()
    assert list(tmp_path.joinpath("tensorboard").glob("events.out.tfevents.*"))
    assert len(list_checkpoints(tmp_path)) == 3  # keep_last default
    # The LR was set every iteration from the fractional epoch (8 iterations per epoch).
    train_records = [r for r in records if r["kind"] == "train"]
    for record in train_records:
        step = record["step"] - 1
        assert record["lr"] == pytest.approx(lr_at_epoch(config.optim, step / 8), rel=1e-12)
    val = [r for r in records if r["kind"] == "val"]
    assert [r["epoch"] for r in val] == [1, 2, 3, 4]
    saved = load_checkpoint(latest_checkpoint(tmp_path))
    assert saved["epoch"] == 4 and saved["iteration"] == 0 and saved["global_step"] == 32
    assert saved["best_metric"] == result.best_metric
    assert (tmp_path / "config.yaml").is_file()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    config = toy_config(["train.checkpoint_every_iters=4"])
    with pytest.raises(TrainingDivergedError, match=r"loss is nan at epoch 2, iteration 3") as info:
        train(config, tmp_path, task=ToyTask(nan_at_step=11))
    assert "step_00000008.pt" in str(info.value)
    good = load_checkpoint(latest_checkpoint(tmp_path))
    assert good["global_step"] == 8
    assert all(torch.isfinite(t).all() for t in good["model_state"].values())
    records = read_metrics(tmp_path)
    assert max(r["step"] for r in records) == 10  # the log stops at the last finite step


def test_dataset_smaller_than_a_batch_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="fewer than one global batch"):
        train(toy_config(["train.batch_size=128"]), tmp_path, task=ToyTask())


def test_max_iters_stops_mid_epoch_and_resume_continues(tmp_path):
    train(toy_config(["train.max_iters=5", "train.eval_period=0"]), tmp_path, task=ToyTask())
    mid = load_checkpoint(latest_checkpoint(tmp_path))
    assert (mid["epoch"], mid["iteration"], mid["global_step"]) == (0, 5, 5)
    result = train(toy_config(["train.eval_period=0"]), tmp_path, resume=True, task=ToyTask())
    assert result.global_step == 32
    steps = [r["step"] for r in read_metrics(tmp_path) if r["kind"] == "train"]
    assert steps == list(range(1, 33))  # no duplicated or missing log records


def test_resuming_a_finished_run_reports_its_checkpoints(tmp_path):
    """The quickstart and ablate resume finished stages and use the checkpoints they report."""
    config = toy_config(["optim.max_epoch=2"])
    first = train(config, tmp_path, task=ToyTask())
    again = train(config, tmp_path, resume=True, task=ToyTask())
    assert first.last_checkpoint is not None and first.best_checkpoint is not None
    assert again.last_checkpoint == first.last_checkpoint
    assert again.best_checkpoint == first.best_checkpoint
    assert again.global_step == first.global_step


def test_plot_log_writes_pngs(tmp_path):
    train(toy_config(["optim.max_epoch=2"]), tmp_path, task=ToyTask())
    written = plot_log(tmp_path)
    assert sorted(p.name for p in written) == ["loss.png", "lr.png", "val_accuracy.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="no metrics"):
        plot_log(tmp_path / "nowhere")


def test_metrics_are_plain_json_lines(tmp_path):
    train(toy_config(["optim.max_epoch=1"]), tmp_path, task=ToyTask())
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    kinds = {json.loads(line)["kind"] for line in lines}
    assert kinds == {"train", "val"}


def test_a_fresh_run_refuses_a_directory_with_checkpoints(tmp_path):
    config = toy_config(["train.max_iters=2", "train.eval_period=0"])
    train(config, tmp_path, task=ToyTask())
    with pytest.raises(InputError, match="--resume"):
        train(config, tmp_path, task=ToyTask())


def test_gradient_clipping_bounds_every_update(tmp_path):
    from engine_toy import toy_model

    from avaloc.engine.trainer import _seed_int

    with torch.random.fork_rng():
        torch.manual_seed(_seed_int(0))  # the trainer's initial weights for seed 0
        initial = toy_model().state_dict()
    config = toy_config(["optim.max_epoch=1", "optim.clip_grad_norm=1e-6", "train.eval_period=0"])
    train(config, tmp_path, task=ToyTask())
    final = load_checkpoint(latest_checkpoint(tmp_path))["model_state"]
    # 8 Nesterov steps of lr <= 0.2 with |g| <= 1e-6 (momentum buffer <= 10 |g|) move a weight
    # by at most 8 * 0.2 * (1 + 0.9 * 10) * 1e-6 = 1.6e-5, plus a negligible weight decay term;
    # unclipped, the same run moves weights by > 0.1.
    moved = max((final[k] - v).abs().max().item() for k, v in initial.items())
    assert 0 < moved < 2e-5


def test_bf16_autocast_trains_on_cpu_and_fp16_needs_cuda(tmp_path):
    result = train(
        toy_config(["train.amp=bf16", "optim.max_epoch=2"]), tmp_path / "bf16", task=ToyTask()
    )
    assert result.last_loss < result.first_loss
    with pytest.raises(InputError, match=r"train\.amp"):
        train(toy_config(["train.amp=fp16"]), tmp_path / "fp16", task=ToyTask())
