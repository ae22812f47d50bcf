"""The real tasks (SlowFast on the synthetic tiny preset): detection with CP-IA + LS,
clip-classification pre-training, fine-tuning from it, the CLI, and checkpoint reloading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from avaloc.cli.main import main
from avaloc.engine import (
    latest_checkpoint,
    load_checkpoint,
    load_model_from_checkpoint,
    load_run_config,
    train,
)
from avaloc.engine.tasks import DetectionTask
from avaloc.evaluation import frame_map
from avaloc.formats import read_ground_truth

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "synthetic" / "tiny.yaml"
# 32 px and 4 fast frames (1 slow): the smallest clip the slim model takes; keeps CPU tests short.
FAST = [
    "data.train_scales=[32]",
    "data.train_crop_size=32",
    "data.test_scale=32",
    "data.num_frames=4",
    "train.batch_size=2",
    "train.eval_batch_size=8",
    "train.progress=false",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from avaloc.synthetic import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("synthetic") / "tiny", "tiny", seed=0)


def tiny_config(root: Path, *extra: str):
    return load_run_config(TINY, [f"data.root={root}", *FAST, *extra])


def test_detection_dataset_gets_cpia_copies_and_label_subsampling(tiny):
    plain = tiny_config(tiny, "balance.cpia=false", "balance.ls=false")
    task = DetectionTask()
    base = task.train_dataset(task.prepare(plain))
    balanced = task.train_dataset(task.prepare(tiny_config(tiny)))
    assert len(balanced) > len(base)
    copies = balanced.samples[len(base) :]
    assert all(s.jitter and s.instances is not None and len(s.instances) == 1 for s in copies)
    assert balanced.label_transform is not None and base.label_transform is None


def test_validation_rows_cover_every_val_box_and_class(tiny):
    config = tiny_config(tiny)
    task = DetectionTask()
    config = task.prepare(config)
    model = task.build_model(config).eval()
    with torch.no_grad():
        rows = task.predict_rows(model, config, torch.device("cpu"))
    gt = read_ground_truth(tiny / "annotations" / "val.csv")
    boxes = gt.drop_duplicates(["video_id", "timestamp", "x1", "y1", "x2", "y2"])
    assert len(rows) == len(boxes) * 20  # one row per (box, class of the label map)
    assert rows["score"].between(0, 1).all()
    keys = {tuple(np.round(r, 3)) for r in boxes[["timestamp", "x1", "y1", "x2", "y2"]].to_numpy()}
    got = {tuple(np.round(r, 3)) for r in rows[["timestamp", "x1", "y1", "x2", "y2"]].to_numpy()}
    assert got == keys
    # Oracle: score 1 exactly where the GT has the (box, class): the rows' keys, boxes and
    # class ids are what the evaluator matches, so frame-mAP must be 1.
    key = ["video_id", "timestamp", "action_id", "bx1", "by1", "bx2", "by2"]

    def with_key(frame: pd.DataFrame) -> pd.DataFrame:
        rounded = frame[["x1", "y1", "x2", "y2"]].round(3).to_numpy()
        return frame.assign(
            bx1=rounded[:, 0], by1=rounded[:, 1], bx2=rounded[:, 2], by2=rounded[:, 3]
        )

    truth = with_key(gt)[key].drop_duplicates().assign(hit=1.0)
    oracle = with_key(rows).merge(truth, on=key, how="left")
    oracle["score"] = oracle["hit"].fillna(0.0)
    result = frame_map(gt, oracle[rows.columns], task.validation_dataset(config).label_map)
    assert result.mAP == pytest.approx(1.0)


@pytest.mark.slow
def test_pretraining_then_fine_tuning_drops_the_classification_head(tiny, tmp_path, capsys):
    pretrain = tiny_config(
        tiny,
        "train.task=classification",
        "model.name=slowfast_r50_w8_classification",
        "train.max_iters=1",
    )
    result = train(pretrain, tmp_path / "pre")
    assert "top1" in result.validations[-1]
    finetune = tiny_config(
        tiny,
        "train.max_iters=1",
        "train.eval_period=0",
        f"train.init_checkpoint={result.last_checkpoint}",
    )
    train(finetune, tmp_path / "fine")
    err = capsys.readouterr().err
    assert "init from" in err
    assert "dropped the source's classification head (head.fc.weight, head.fc.bias)" in err


def test_cli_bad_key_is_one_line_exit_2(tiny, tmp_path, capsys):
    code = main(["train", "--config", str(TINY), "--out", str(tmp_path), "optim.bse_lr=1"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "optim.bse_lr" in err


def test_cli_wrong_head_for_task_is_an_input_error(tiny, tmp_path, capsys):
    code = main(
        [
            "train",
            "--config",
            str(TINY),
            "--out",
            str(tmp_path),
            f"data.root={tiny}",
            "train.task=classification",
        ]
    )
    assert code == 2
    assert "model.name" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_detection_run_reload_and_plot_log(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--config", str(TINY), "--out", str(out), f"data.root={tiny}", *FAST]
    code = main([*args, "train.max_iters=2", "train.eval_at_start=true"])
    assert code == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if r["kind"] == "val"]
    assert [r["step"] for r in val] == [0, 2] and all(0 <= r["mAP"] <= 1 for r in val)
    last = latest_checkpoint(out)
    model, loaded = load_model_from_checkpoint(last)
    assert loaded.model.num_classes == 20 and not model.training
    state = load_checkpoint(last)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state["model_state"][name])
    assert main(["plot-log", str(out)]) == 0
    assert (out / "plots" / "loss.png").is_file() and (out / "plots" / "val_mAP.png").is_file()
    # A second fresh run into the same directory is refused (exit 2), --resume is not.
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
