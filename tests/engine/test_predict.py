"""Prediction ensembles, result files and resume, on toy datasets and toy models.

The toy dataset yields collated batches in the data stage's contract format; the toy models'
logits are known functions of the input size, the boxes and the pixel values, so every expected
probability below is computed by hand (or by a closed formula), not by the code under test.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from avaloc.engine.predict import (
    BoxPredictions,
    det_scores_path_for,
    ensemble_probabilities,
    flip_clip,
    normalized_weights,
    plan_batches,
    predict_keyframes,
    predict_to_csv,
    run_manifest,
    write_predictions,
)
from avaloc.errors import InputError
from avaloc.formats import read_detections


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# ----------------------------------------------------------------------------- toy data
class ToyKeyframes(Dataset):
    """Keyframes with known boxes; at test ``scale`` the short side is resized to ``scale``.

    Pixels of sample i are the constant ``value(i)``; slow has 2 frames, fast 8.
    """

    def __init__(self, samples: list[dict], scale: int) -> None:
        self.samples = samples
        self.scale = scale

    def __len__(self) -> int:
        return len(self.samples)

    @staticmethod
    def value(sample: dict) -> float:
        return 0.01 * sample["timestamp"] + (0.5 if sample["video_id"].endswith("b") else 0.0)

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index]
        height, width = sample["size"]
        ratio = self.scale / min(height, width)
        new_h, new_w = round(height * ratio), round(width * ratio)
        value = self.value(sample)
        norm = torch.tensor(sample["boxes"], dtype=torch.float64)
        return {
            "slow": torch.full((3, 2, new_h, new_w), value),
            "fast": torch.full((3, 8, new_h, new_w), value),
            "boxes": (norm * torch.tensor([new_w, new_h, new_w, new_h])).float(),
            "video_id": sample["video_id"],
            "timestamp": sample["timestamp"],
            "norm_boxes": norm,
            "box_scores": torch.tensor(sample["scores"], dtype=torch.float64),
        }


def toy_collate(items: list[dict]) -> dict:
    boxes = torch.cat(
        [
            torch.cat([torch.full((len(item["boxes"]), 1), float(b)), item["boxes"]], dim=1)
            for b, item in enumerate(items)
        ]
    )
    return {
        "inputs": [
            torch.stack([i["slow"] for i in items]),
            torch.stack([i["fast"] for i in items]),
        ],
        "boxes": boxes,
        "labels": torch.zeros(len(boxes), 3),
        "metadata": {
            "video_id": [i["video_id"] for i in items],
            "timestamp": [i["timestamp"] for i in items],
            "norm_boxes": torch.cat([i["norm_boxes"] for i in items]),
            "box_scores": torch.cat([i["box_scores"] for i in items]),
        },
    }


class LinearToy(torch.nn.Module):
    """logit[k, c] = (c + 1) * x1/W + a * mean(clip) + b * H/100 + bias (x1 of box k, input WxH)."""

    def __init__(self, a: float = 1.0, b: float = 0.0, bias: float = 0.0, classes: int = 3):
        super().__init__()
        self.a, self.b, self.bias, self.classes = a, b, bias, classes
        self.calls = 0

    def forward(self, inputs: list[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        slow, fast = inputs
        height, width = slow.shape[-2:]
        clip_mean = (slow.mean(dim=(1, 2, 3, 4)) + fast.mean(dim=(1, 2, 3, 4))) / 2
        x1 = boxes[:, 1] / width
        per_box = self.a * clip_mean[boxes[:, 0].long()] + self.b * height / 100 + self.bias
        steps = torch.arange(1, self.classes + 1, dtype=torch.float32)
        return x1[:, None] * steps[None, :] + per_box[:, None]


def toy_expected(samples, scales, flip, models_abw, weights) -> np.ndarray:
    """The closed formula of LinearToy's ensemble, box by box (keyframe order)."""
    rows = []
    total_w = sum(weights)
    for sample in samples:
        value = ToyKeyframes.value(sample)
        short = min(sample["size"])
        for box in sample["boxes"]:
            probs = np.zeros(3)
            for (a, b, bias), weight in zip(models_abw, weights):
                views = []
                for scale in scales:
                    new_h = round(sample["size"][0] * scale / short)
                    xs = [box[0]] + ([1 - box[2]] if flip else [])
                    views += [
                        [
                            sigmoid((c + 1) * x + a * value + b * new_h / 100 + bias)
                            for c in range(3)
                        ]
                        for x in xs
                    ]
                probs += weight / total_w * np.mean(views, axis=0)
            rows.append(probs)
    return np.array(rows)


SAMPLES = [
    {"video_id": "vid_a", "timestamp": 1, "size": (60, 80), "boxes": [[0.1, 0.2, 0.5, 0.9]],
     "scores": [0.9]},
    {"video_id": "vid_a", "timestamp": 2, "size": (60, 80),
     "boxes": [[0.0, 0.0, 0.25, 0.5], [0.4, 0.1, 1.0, 1.0]], "scores": [0.95, 0.875]},
    {"video_id": "vid_b", "timestamp": 1, "size": (50, 40), "boxes": [[0.3, 0.3, 0.6, 0.7]],
     "scores": [0.99]},
    {"video_id": "vid_b", "timestamp": 3, "size": (50, 40), "boxes": [[0.2, 0.1, 0.9, 0.8]],
     "scores": [0.86]},
    {"video_id": "vid_c", "timestamp": 7, "size": (60, 80), "boxes": [[0.05, 0.5, 0.15, 0.95]],
     "scores": [0.97]},
]  # fmt: skip
KEYFRAMES = [(s["video_id"], s["timestamp"]) for s in SAMPLES]
SIZES = {s["video_id"]: s["size"] for s in SAMPLES}


def datasets(scales):
    return [ToyKeyframes(SAMPLES, s) for s in scales]


# ----------------------------------------------------------------------------- averaging
def test_hand_computed_scale_and_model_ensemble():
    """Model A: p = 0.5 at the small scale, 0.75 at the large one; model B: p = 0.25 always.

    SE for A: (0.5 + 0.75) / 2 = 0.625; ME with weights 3:1: 0.75 * 0.625 + 0.25 * 0.25.
    """

    class ByHeight(torch.nn.Module):
        def forward(self, inputs, boxes):
            height = inputs[0].shape[-2]
            value = logit(0.75) if height > 40 else 0.0
            return torch.full((len(boxes), 2), value)

    class Constant(torch.nn.Module):
        def forward(self, inputs, boxes):
            return torch.full((len(boxes), 2), logit(0.25))

    sample = [{"video_id": "v", "timestamp": 0, "size": (10, 20), "boxes": [[0, 0, 1, 1]],
               "scores": [1.0]}]  # fmt: skip
    result = predict_keyframes(
        [ByHeight(), Constant()],
        [3.0, 1.0],
        [ToyKeyframes(sample, 32), ToyKeyframes(sample, 64)],
        collate_fn=toy_collate,
    )
    assert result.probs.shape == (1, 2)
    np.testing.assert_allclose(result.probs, 0.53125, atol=1e-6)


def test_flip_averages_the_mirrored_box():
    """logit = x1/W: box x1 = 0.1, x2 = 0.3 -> views 0.1 and 1 - 0.3 = 0.7."""
    sample = [{"video_id": "v", "timestamp": 0, "size": (10, 20), "boxes": [[0.1, 0.2, 0.3, 0.4]],
               "scores": [1.0]}]  # fmt: skip
    model = LinearToy(a=0.0, classes=1)
    result = predict_keyframes(
        [model], None, [ToyKeyframes(sample, 20)], True, collate_fn=toy_collate
    )
    expected = (sigmoid(0.1) + sigmoid(0.7)) / 2
    np.testing.assert_allclose(result.probs[0, 0], expected, atol=1e-6)
    assert model.calls == 2


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_ensemble_matches_closed_formula(flip, batch_size):
    scales = [24, 32, 48]
    models = [(1.0, 0.5, 0.0), (-2.0, 0.0, 0.3)]
    weights = [1.0, 3.0]
    result = predict_keyframes(
        [LinearToy(*m) for m in models],
        weights,
        datasets(scales),
        flip,
        keyframes=KEYFRAMES,
        batch_size=batch_size,
        frame_sizes=SIZES,
        collate_fn=toy_collate,
    )
    expected = toy_expected(SAMPLES, scales, flip, models, weights)
    order = np.lexsort((result.timestamps, result.video_ids.astype(str)))
    np.testing.assert_allclose(result.probs[order], expected, atol=1e-6)
    # metadata follows the boxes: keyframe keys, normalized boxes and detector scores
    assert list(zip(result.video_ids[order], result.timestamps[order])) == [
        (s["video_id"], s["timestamp"]) for s in SAMPLES for _ in s["boxes"]
    ]
    np.testing.assert_allclose(result.boxes[order], [b for s in SAMPLES for b in s["boxes"]])
    np.testing.assert_allclose(result.box_scores[order], [x for s in SAMPLES for x in s["scores"]])


def test_single_model_single_scale_is_the_plain_sigmoid():
    model = LinearToy(0.7, 0.1, -0.2)
    inputs = [torch.rand(2, 3, 2, 8, 12), torch.rand(2, 3, 8, 8, 12)]
    boxes = torch.tensor([[0, 1.0, 1, 5, 7], [1, 2, 0, 12, 8], [1, 0, 0, 3, 3]])
    got = ensemble_probabilities([model], [1.0], [(inputs, boxes)])
    torch.testing.assert_close(got, torch.sigmoid(model(inputs, boxes)))


def test_flip_clip_mirrors_pixels_and_boxes():
    slow = torch.arange(2 * 3 * 1 * 2 * 5, dtype=torch.float32).reshape(2, 3, 1, 2, 5)
    boxes = torch.tensor([[1, 0.0, 0.0, 2.0, 1.0], [0, 1.5, 0.5, 5.0, 2.0]])
    (flipped,), mirrored = flip_clip([slow], boxes)
    assert torch.equal(flipped[..., 0], slow[..., 4])
    assert torch.equal(mirrored, torch.tensor([[1, 3.0, 0.0, 5.0, 1.0], [0, 0.0, 0.5, 3.5, 2.0]]))
    twice = flip_clip(*flip_clip([slow], boxes))
    assert torch.equal(twice[0][0], slow) and torch.equal(twice[1], boxes)


def test_weights_are_normalized_and_validated():
    assert normalized_weights(None, 4) == [0.25] * 4
    assert normalized_weights([2, 6], 2) == [0.25, 0.75]
    for bad in ([1.0], [1.0, -1.0], [0.0, 0.0], [float("nan"), 1.0]):
        with pytest.raises(InputError, match="model_weights"):
            normalized_weights(bad, 2)


def test_scales_with_different_boxes_are_a_bug():
    other = [dict(s, boxes=[[0.0, 0.0, 0.5, 0.5]] * len(s["boxes"])) for s in SAMPLES]
    with pytest.raises(RuntimeError, match="other boxes"):
        predict_keyframes(
            [LinearToy()], None, [ToyKeyframes(SAMPLES, 24), ToyKeyframes(other, 32)],
            collate_fn=toy_collate,
        )  # fmt: skip


def test_loader_workers_give_the_same_result():
    kwargs = dict(keyframes=KEYFRAMES, batch_size=2, frame_sizes=SIZES, collate_fn=toy_collate)
    serial = predict_keyframes([LinearToy()], None, datasets([24, 32]), True, **kwargs)
    parallel = predict_keyframes(
        [LinearToy()], None, datasets([24, 32]), True, num_workers=2, **kwargs
    )
    np.testing.assert_array_equal(serial.probs, parallel.probs)


# ----------------------------------------------------------------------------- batches
def test_plan_batches_buckets_by_frame_size_in_video_time_order():
    batches = plan_batches(KEYFRAMES, 2, SIZES)
    assert sorted(i for b in batches for i in b) == list(range(len(SAMPLES)))
    for batch in batches:
        assert len(batch) <= 2
        assert len({SIZES[KEYFRAMES[i][0]] for i in batch}) == 1
    # vid_a and vid_c share a size: (vid_a 1, vid_a 2), (vid_c 7); then vid_b on its own
    assert batches == [[0, 1], [4], [2, 3]]
    assert plan_batches(KEYFRAMES, 10) == [[0, 1, 2, 3, 4]]
    with pytest.raises(InputError, match="batch_size"):
        plan_batches(KEYFRAMES, 0)


def test_different_frame_sizes_in_one_batch_fail_without_bucketing():
    """Why bucketing exists: clips of two frame sizes cannot be stacked into one tensor."""
    with pytest.raises(RuntimeError):
        predict_keyframes(
            [LinearToy()], None, datasets([24]), keyframes=KEYFRAMES, batch_size=5,
            collate_fn=toy_collate,
        )  # fmt: skip


# ----------------------------------------------------------------------------- result files
LINE = re.compile(r"^vid_[abc],\d{4},(\d\.\d{3},){4}\d+,\d\.\d{4}$")


def run_csv(tmp_path, name="pred.csv", **kwargs):
    options = dict(
        flip=True, batch_size=2, frame_sizes=SIZES, collate_fn=toy_collate, progress=False
    )
    options.update(kwargs)
    models = options.pop("models", [LinearToy(1.0, 0.5), LinearToy(-2.0, 0.0, 0.3)])
    return predict_to_csv(
        models, [1.0, 3.0], datasets([24, 32]), KEYFRAMES, tmp_path / name, [11, 12, 80], **options
    )


def test_csv_in_pyslowfast_format_parses_with_the_formats_module(tmp_path):
    summary = run_csv(tmp_path, keep_det_scores=True)
    out = tmp_path / "pred.csv"
    lines = out.read_text().splitlines()
    assert len(lines) == 6 * 3  # 6 boxes x 3 classes
    assert all(LINE.match(line) for line in lines), lines[:3]
    rows = read_detections(out)
    expected = toy_expected(SAMPLES, [24, 32], True, [(1.0, 0.5, 0.0), (-2.0, 0.0, 0.3)], [1, 3])
    np.testing.assert_allclose(rows["score"].to_numpy(), expected.reshape(-1), atol=5e-5 + 1e-9)
    assert rows["action_id"].tolist() == [11, 12, 80] * 6
    assert rows["timestamp"].tolist() == [
        t for s in SAMPLES for t in [s["timestamp"]] * 3 * len(s["boxes"])
    ]
    np.testing.assert_allclose(
        rows[["x1", "y1", "x2", "y2"]].to_numpy()[::3], [b for s in SAMPLES for b in s["boxes"]],
        atol=5e-4,
    )  # fmt: skip
    assert lines[0] == "vid_a,0001,0.100,0.200,0.500,0.900,11," + f"{expected[0, 0]:.4f}"
    boxes = read_detections(det_scores_path_for(out))
    assert boxes["action_id"].tolist() == [-1] * 6
    assert boxes["score"].tolist() == [x for s in SAMPLES for x in s["scores"]]
    assert det_scores_path_for(out).read_text().splitlines()[0] == (
        "vid_a,0001,0.100,0.200,0.500,0.900,,0.900000"
    )
    assert (summary.keyframes, summary.boxes, summary.views, summary.models) == (5, 6, 4, 2)
    assert "5 keyframes, 6 boxes" in summary.line() and "keyframes/s" in summary.line()
    assert not (tmp_path / "pred.csv.parts").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv", "pred.det_scores.csv"]


def test_write_predictions_and_class_count_mismatch(tmp_path):
    predictions = BoxPredictions(
        np.array(["v"], dtype=object), np.array([902]), np.array([[0.1, 0.2, 0.3, 0.4]]),
        np.array([0.9]), np.array([[0.123456, 0.5]], dtype=np.float32),
    )  # fmt: skip
    write_predictions(predictions, tmp_path / "p.csv", [1, 2])
    assert (tmp_path / "p.csv").read_text() == (
        "v,0902,0.100,0.200,0.300,0.400,1,0.1235\nv,0902,0.100,0.200,0.300,0.400,2,0.5000\n"
    )
    with pytest.raises(InputError, match="2 classes but the label map has 3"):
        write_predictions(predictions, tmp_path / "q.csv", [1, 2, 3])
    assert not (tmp_path / "q.csv").exists()


# ----------------------------------------------------------------------------- resume
class Interrupt(Exception):
    pass


def stop_after(count):
    done = []

    def hook(video_id):
        done.append(video_id)
        if len(done) == count:
            raise Interrupt

    return hook


def test_resume_after_interruption_gives_the_same_file(tmp_path):
    run_csv(tmp_path / "full", keep_det_scores=True)
    reference = (tmp_path / "full" / "pred.csv").read_bytes()
    reference_boxes = (tmp_path / "full" / "pred.det_scores.csv").read_bytes()

    part = tmp_path / "part"
    with pytest.raises(Interrupt):
        run_csv(part, keep_det_scores=True, on_video_done=stop_after(2))
    assert not (part / "pred.csv").exists()  # nothing half-written
    assert len(list((part / "pred.csv.parts").glob("*.pred.csv"))) == 2

    models = [LinearToy(1.0, 0.5), LinearToy(-2.0, 0.0, 0.3)]
    summary = run_csv(part, keep_det_scores=True, resume=True, models=models)
    assert (part / "pred.csv").read_bytes() == reference
    assert (part / "pred.det_scores.csv").read_bytes() == reference_boxes
    assert not (part / "pred.csv.parts").exists()
    # vid_a and vid_c (one size bucket) were done; only vid_b's batch runs again: 2 scales x 2 flips
    assert summary.resumed_videos == 2 and summary.keyframes == 2
    assert [m.calls for m in models] == [4, 4]


def test_resume_refuses_other_settings_and_fresh_run_starts_over(tmp_path):
    with pytest.raises(Interrupt):
        run_csv(tmp_path, on_video_done=stop_after(1))
    with pytest.raises(InputError, match="flip"):
        run_csv(tmp_path, resume=True, flip=False)
    models = [LinearToy(1.0, 0.5), LinearToy(-2.0, 0.0, 0.3)]
    summary = run_csv(tmp_path, resume=False, models=models)
    assert summary.resumed_videos == 0 and summary.keyframes == 5


def test_manifest_fingerprints_checkpoints(tmp_path):
    checkpoint = tmp_path / "c.pt"
    checkpoint.write_bytes(b"x")
    first = run_manifest({"scales": [224]}, [checkpoint])
    checkpoint.write_bytes(b"xy")
    second = run_manifest({"scales": [224]}, [checkpoint])
    assert first["scales"] == [224] and first["checkpoints"] != second["checkpoints"]


def test_det_scores_sidecar_feeds_the_evaluation_threshold_sweep(tmp_path):
    figures = pytest.importorskip("avaloc.evaluation.figures")
    run_csv(tmp_path, keep_det_scores=True)
    rows = read_detections(tmp_path / "pred.csv")
    joined = figures.attach_detector_scores(
        rows, read_detections(det_scores_path_for(tmp_path / "pred.csv"))
    )
    expected = [x for s in SAMPLES for x in s["scores"] for _ in range(3)]
    assert joined["det_score"].tolist() == expected


def test_output_classes_keep_a_subset(tmp_path):
    run_csv(tmp_path, output_classes=[80, 11, 5])
    rows = read_detections(tmp_path / "pred.csv")
    full = read_detections(run_csv(tmp_path, name="full.csv") and tmp_path / "full.csv")
    assert rows["action_id"].tolist() == [11, 80] * 6
    kept = full[full["action_id"] != 12].reset_index(drop=True)
    assert rows.equals(kept)
    with pytest.raises(InputError, match="none of the classes"):
        run_csv(tmp_path, name="none.csv", output_classes=[5])
