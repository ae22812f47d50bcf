"""`avaloc predict` / `avaloc export` end to end: numbered videos, slim SlowFast checkpoints.

The expected probabilities are recomputed here from the data stage's own datasets (including
its flip transform) and the models called directly, independently of the predictor's code.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("avaloc.data")
pytest.importorskip("avaloc.models")

from avaloc.cli.main import main
from avaloc.config import config_to_dict
from avaloc.data import AvaDataset, DataConfig, collate_detection
from avaloc.engine.checkpoint import save_checkpoint
from avaloc.engine.config import RunConfig, run_config_to_dict
from avaloc.engine.predict import predict_split
from avaloc.errors import InputError
from avaloc.formats import (
    read_detections,
    write_detections,
    write_excluded_timestamps,
    write_ground_truth,
    write_label_map,
)
from avaloc.models import ModelConfig, build_model
from avaloc.seeding import torch_generator
from avaloc.video.testing import write_numbered_video

LABELS = {1: "stand", 3: "walk", 7: "talk"}
GT = [
    ("vidA", 1, 0.1, 0.2, 0.5, 0.9, 1, 0),
    ("vidA", 1, 0.1, 0.2, 0.5, 0.9, 7, 0),
    ("vidA", 2, 0.6, 0.1, 0.9, 0.8, 3, 1),
    ("vidA", 3, 0.2, 0.2, 0.6, 0.9, 3, 0),
    ("vidB", 1, 0.0, 0.0, 0.5, 0.5, 7, 0),
    ("vidB", 2, 0.5, 0.5, 1.0, 1.0, 1, 2),
]
DETECTIONS = [
    ("vidA", 1, 0.11, 0.2, 0.5, 0.9, -1, 0.95),
    ("vidA", 1, 0.0, 0.0, 0.25, 0.4, -1, 0.9),
    ("vidA", 2, 0.6, 0.1, 0.9, 0.8, -1, 0.5),  # below the 0.85 threshold
    ("vidA", 2, 0.55, 0.1, 0.9, 0.85, -1, 0.88),
    ("vidA", 3, 0.2, 0.2, 0.6, 0.9, -1, 0.86),
    ("vidB", 1, 0.05, 0.0, 0.5, 0.55, -1, 0.99),
    ("vidB", 2, 0.5, 0.5, 1.0, 1.0, -1, 0.99),
]
GT_COLUMNS = ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"]
DET_COLUMNS = ["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "score"]


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """A two-video dataset (4:3 and 5:3 frames) and two slim checkpoints of 3 classes."""
    root = tmp_path_factory.mktemp("predict_mini")
    write_numbered_video(root / "videos" / "vidA.mp4", 120, fps=30, width=256, height=192)
    write_numbered_video(root / "videos" / "vidB.mp4", 90, fps=30, width=320, height=192)
    ann = root / "annotations"
    write_label_map(LABELS, ann / "label_map.pbtxt")
    write_ground_truth(pd.DataFrame(GT, columns=GT_COLUMNS), ann / "val.csv")
    write_excluded_timestamps(set(), ann / "val_excluded_timestamps.csv")
    write_detections(pd.DataFrame(DETECTIONS, columns=DET_COLUMNS), ann / "val_detections.csv")
    data = DataConfig(
        root=str(root),
        num_frames=4,
        sampling_rate=4,
        alpha=4,
        test_scale=48,
        val_detections="annotations/val_detections.csv",
    )
    checkpoints = []
    for seed in (0, 1):
        model_config = ModelConfig(num_classes=3, width_per_group=8)
        model = build_model(model_config, generator=torch_generator(seed))
        with torch.no_grad():  # a trained-looking head: logits of order 1, not ~0
            model.head.fc.weight.normal_(0, 2.0, generator=torch_generator(seed, 1))
        config = RunConfig(data=data, model=model_config)
        path = root / f"model{seed}.pt"
        state = {
            "model_state": model.state_dict(),
            "model_config": config_to_dict(model.config),  # resolved, as the trainer saves it
            "run_config": run_config_to_dict(config),
        }
        save_checkpoint(state, path)
        checkpoints.append(path)
    return {"root": root, "data": data, "checkpoints": checkpoints}


def expected_probabilities(mini, scales, flip, weights):
    """Per box: sum_m w_m mean_(scale, flip) sigmoid(model_m(view)), one video per batch.

    Batches hold one video (one frame size) so that no clip is padded, as in the predictor.
    """
    from avaloc.engine.weights import load_model_from_checkpoint

    models = [load_model_from_checkpoint(c)[0] for c in mini["checkpoints"]]
    total = sum(weights)
    probs, keys = [], []
    for video in ("vidA", "vidB"):
        views = []
        for scale in scales:
            for flipped in [False, True] if flip else [False]:
                dataset = AvaDataset(mini["data"], "val", train=False, scale=scale, flip=flipped)
                items = [dataset[i] for i, (v, _) in enumerate(dataset.keyframes) if v == video]
                views.append(collate_detection(items))
        with torch.no_grad():
            probs.append(
                sum(
                    w
                    / total
                    * torch.stack([torch.sigmoid(m(v["inputs"], v["boxes"])) for v in views]).mean(
                        0
                    )
                    for m, w in zip(models, weights)
                )
            )
        meta = views[0]["metadata"]
        keys += [
            (meta["video_id"][c], meta["timestamp"][c]) for c in views[0]["boxes"][:, 0].long()
        ]
    return torch.cat(probs).numpy(), keys


@pytest.mark.slow
def test_predict_split_matches_independent_ensemble(mini, tmp_path):
    out = tmp_path / "pred.csv"
    summary = predict_split(
        mini["checkpoints"],
        out,
        scales=[48, 64],
        flip=True,
        weights=[1, 3],
        batch_size=4,
        keep_det_scores=True,
        progress=False,
    )
    rows = read_detections(out)
    probs, keys = expected_probabilities(mini, [48, 64], True, [1, 3])
    # 6 boxes above 0.85 (one of vidA,2 is below), 3 classes each
    assert (summary.keyframes, summary.boxes, summary.views, summary.models) == (5, 6, 4, 2)
    assert len(rows) == 18 and rows["action_id"].tolist() == [1, 3, 7] * 6
    assert list(zip(rows["video_id"][::3], rows["timestamp"][::3])) == keys
    np.testing.assert_allclose(rows["score"].to_numpy(), probs.reshape(-1), atol=5e-5 + 2e-6)
    assert np.ptp(probs) > 0.05  # the check is not vacuous: the models disagree with 0.5
    boxes = read_detections(tmp_path / "pred.det_scores.csv")
    assert len(boxes) == 6
    for row in boxes.itertuples():
        (source,) = [
            d for d in DETECTIONS
            if d[:2] == (row.video_id, row.timestamp)
            and np.allclose(d[2:6], [row.x1, row.y1, row.x2, row.y2], atol=5e-4)
        ]  # fmt: skip
        assert row.score == source[7]


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_cli_predict_then_evaluate(mini, tmp_path, capsys):
    out, report = tmp_path / "pred.csv", tmp_path / "map.json"
    gt = mini["root"] / "annotations" / "val.csv"
    code = run_cli(
        "predict", "--checkpoint", mini["checkpoints"][0], "--out", out, "--no-progress",
        "--evaluate", "--gt", gt, "--json", report,
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert re.search(r"predicted 5 keyframes, 6 boxes .* keyframes/s", printed)
    assert len(read_detections(out)) == 18
    from avaloc.evaluation import evaluate_files

    expected = evaluate_files(gt, out, mini["root"] / "annotations" / "label_map.pbtxt")
    result = json.loads(report.read_text())
    assert result["mAP"] == pytest.approx(expected.result.mAP)
    assert f"frame-mAP@0.5 {expected.result.mAP:.4f}" in printed


def test_cli_oracle_gt_boxes(mini, tmp_path):
    out = tmp_path / "oracle.csv"
    gt = mini["root"] / "annotations" / "val.csv"
    code = run_cli(
        "predict", "--checkpoint", mini["checkpoints"][1], "--out", out, "--gt-boxes",
        "--gt", gt, "--no-progress", "--batch-size", "8",
    )  # fmt: skip
    assert code == 0
    rows = read_detections(out)
    predicted = set(map(tuple, rows[["video_id", "timestamp", "x1", "y1", "x2", "y2"]].values))
    expected = {g[:6] for g in GT}
    assert predicted == expected and len(rows) == 3 * len(expected)


@pytest.mark.slow
def test_cli_export_then_predict_with_onnxruntime(mini, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    onnx_path = tmp_path / "model.onnx"
    assert run_cli("export", "--checkpoint", mini["checkpoints"][0], "--out", onnx_path) == 0
    assert "max |PyTorch - onnxruntime|" in capsys.readouterr().out
    for engine, checkpoint in (("pytorch", mini["checkpoints"][0]), ("onnxruntime", onnx_path)):
        code = run_cli(
            "predict", "--checkpoint", checkpoint, "--engine", engine, "--out",
            tmp_path / f"{engine}.csv", "--no-progress", "--score-decimals", "6",
        )  # fmt: skip
        assert code == 0
    torch_rows = read_detections(tmp_path / "pytorch.csv")
    onnx_rows = read_detections(tmp_path / "onnxruntime.csv")
    assert len(torch_rows) == len(onnx_rows) == 18
    np.testing.assert_allclose(onnx_rows["score"], torch_rows["score"], atol=1e-4)


def test_cli_errors_are_one_line(mini, tmp_path, capsys):
    checkpoint = mini["checkpoints"][0]
    four_classes = tmp_path / "four.pbtxt"
    write_label_map({**LABELS, 9: "sit"}, four_classes)
    cases = [
        (["--checkpoint", tmp_path / "absent.pt"], "checkpoint not found"),
        (["--checkpoint", checkpoint, "--evaluate"], "--evaluate needs --gt"),
        (["--checkpoint", checkpoint, "--engine", "pytorch", "--scales", "0"], "scales"),
        (["--checkpoint", checkpoint, f"data.label_map={four_classes}"], "predicts 3 classes"),
        (["--checkpoint", checkpoint, "--weights", "1,2"], "2 model weights given for 1"),
        (["--checkpoint", checkpoint, "data.nonsense=1"], "nonsense"),
    ]
    for extra, message in cases:
        code = run_cli("predict", "--out", tmp_path / "p.csv", "--no-progress", *extra)
        err = capsys.readouterr().err
        assert code == 2, (extra, err)
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "p.csv").exists()


def test_torch_predictor_follows_the_models_inference_settings():
    from avaloc.engine.export import example_inputs
    from avaloc.engine.predict import TorchPredictor

    model = build_model(ModelConfig(num_classes=3, width_per_group=8)).eval()
    slow, fast, boxes = example_inputs(1, 4, 32, 48, batch=1, boxes_per_clip=2)
    with torch.no_grad():
        expected = model([slow, fast], boxes)
    predictor = TorchPredictor(model, "auto")
    assert predictor.settings.precision == "fp32"  # slim models gain nothing from bf16
    assert torch.equal(predictor([slow, fast], boxes), expected)
    with pytest.raises(InputError, match="precision"):
        TorchPredictor(model, "fp8")
