"""ONNX export of detection models (RoIAlign included) and running them with onnxruntime."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.ops import roi_align

from avaloc.engine.export import (
    OnnxDetector,
    example_inputs,
    export_onnx,
    max_abs_difference,
)
from avaloc.errors import InputError

pytest.importorskip("onnxruntime")


class TinyRoiDetector(nn.Module):
    """Two pathways, a lateral connection, mean over time, RoIAlign, max pool, linear."""

    def __init__(self, classes: int = 4, aligned: bool = True) -> None:
        super().__init__()
        self.slow = nn.Conv3d(3, 8, (1, 3, 3), stride=(1, 4, 4), padding=(0, 1, 1))
        self.fast = nn.Conv3d(3, 4, (3, 3, 3), stride=(1, 4, 4), padding=(1, 1, 1))
        self.lateral = nn.Conv3d(4, 4, (5, 1, 1), stride=(4, 1, 1), padding=(2, 0, 0))
        self.fc = nn.Linear(16, classes)
        self.aligned = aligned

    def forward(self, inputs, boxes):
        slow, fast = self.slow(inputs[0]), self.fast(inputs[1])
        slow = torch.cat([slow, self.lateral(fast)], dim=1)
        pooled = []
        for feature in (slow, fast):
            regions = roi_align(
                feature.mean(dim=2), boxes, (3, 3), 0.25, sampling_ratio=0, aligned=self.aligned
            )
            pooled.append(torch.amax(regions, dim=(2, 3)))
        return self.fc(torch.cat(pooled, dim=1))


def check_close(model, detector, shapes):
    for seed, (slow_t, fast_t, height, width, batch, per_clip) in enumerate(shapes):
        inputs = example_inputs(slow_t, fast_t, height, width, batch, per_clip, seed=seed + 1)
        assert max_abs_difference(model, detector, inputs) <= 1e-4


SHAPES = [(2, 8, 48, 64, 1, 1), (2, 8, 64, 40, 3, 4), (3, 12, 32, 96, 2, 3)]


@pytest.mark.parametrize("aligned", [True, False])
def test_torchscript_export_matches_pytorch_on_new_shapes(tmp_path, aligned):
    torch.manual_seed(0)
    model = TinyRoiDetector(aligned=aligned).eval()
    path = export_onnx(model, tmp_path / "m.onnx", example_inputs(2, 8, 40, 56), metadata={"a": 1})
    detector = OnnxDetector(path)
    assert detector.metadata == {"a": 1} and detector.num_classes == 4
    check_close(model, detector, SHAPES)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_dynamo_export_matches_pytorch(tmp_path):
    pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    model = TinyRoiDetector().eval()
    path = export_onnx(model, tmp_path / "d.onnx", example_inputs(2, 8, 40, 56), exporter="dynamo")
    check_close(model, OnnxDetector(path), [s for s in SHAPES if s[0] == 2])


def test_roi_align_is_in_the_graph_with_half_pixel_coordinates(tmp_path):
    import onnx

    path = export_onnx(TinyRoiDetector().eval(), tmp_path / "m.onnx", example_inputs(2, 8, 40, 56))
    nodes = [n for n in onnx.load(str(path)).graph.node if n.op_type == "RoiAlign"]
    assert len(nodes) == 2
    modes = {a.s.decode() for n in nodes for a in n.attribute if a.name.startswith("coordinate")}
    assert modes == {"half_pixel"}


def test_no_boxes_gives_empty_logits(tmp_path):
    path = export_onnx(TinyRoiDetector().eval(), tmp_path / "m.onnx", example_inputs(2, 8, 40, 56))
    slow, fast, _ = example_inputs(2, 8, 40, 56)
    assert OnnxDetector(path)([slow, fast], torch.zeros(0, 5)).shape == (0, 4)


def test_bad_exports_and_bad_files_are_input_errors(tmp_path):
    model = TinyRoiDetector().eval()
    inputs = example_inputs(2, 8, 40, 56)
    with pytest.raises(InputError, match="opset"):
        export_onnx(model, tmp_path / "m.onnx", inputs, opset=13)
    with pytest.raises(InputError, match="exporter"):
        export_onnx(model, tmp_path / "m.onnx", inputs, exporter="tflite")
    assert not list(tmp_path.iterdir())
    with pytest.raises(InputError, match="not found"):
        OnnxDetector(tmp_path / "absent.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a protobuf at all" * 10)
    with pytest.raises(InputError, match="not a loadable ONNX model"):
        OnnxDetector(garbage)


@pytest.mark.slow
def test_slim_slowfast_export_matches_pytorch(tmp_path):
    models = pytest.importorskip("avaloc.models")
    config = models.ModelConfig(name="slowfast_r50_detection", num_classes=6, width_per_group=8)
    torch.manual_seed(0)
    model = models.build_model(config).eval()
    path = export_onnx(model, tmp_path / "sf.onnx", example_inputs(4, 16, 64, 96))
    detector = OnnxDetector(path)
    check_close(
        model, detector, [(4, 16, 64, 96, 2, 2), (4, 16, 96, 64, 3, 1), (2, 8, 80, 80, 1, 5)]
    )


class RandomClips(torch.utils.data.Dataset):
    """Collated batches in the data contract: random pixels, two boxes per keyframe."""

    def __init__(self, count: int, scale: int) -> None:
        self.count, self.scale = count, scale

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        height, width = self.scale, self.scale * 3 // 2
        norm = torch.tensor([[0.1, 0.2, 0.5, 0.9], [0.3, 0.0, 1.0, 0.6]], dtype=torch.float64)
        return {
            "slow": torch.rand(3, 2, height, width, generator=generator),
            "fast": torch.rand(3, 8, height, width, generator=generator),
            "norm": norm,
            "index": index,
            "pixels": (norm * torch.tensor([width, height, width, height])).float(),
        }


def collate(items):
    return {
        "inputs": [
            torch.stack([i["slow"] for i in items]),
            torch.stack([i["fast"] for i in items]),
        ],
        "boxes": torch.cat(
            [torch.cat([torch.full((2, 1), float(b)), i["pixels"]], 1) for b, i in enumerate(items)]
        ),
        "metadata": {
            "video_id": ["v"] * len(items),
            "timestamp": [i["index"] for i in items],
            "norm_boxes": torch.cat([i["norm"] for i in items]),
        },
    }


def test_predict_with_onnxruntime_matches_pytorch_ensemble(tmp_path):
    from avaloc.engine.predict import predict_keyframes

    torch.manual_seed(0)
    models = [TinyRoiDetector().eval(), TinyRoiDetector().eval()]
    detectors = [
        OnnxDetector(export_onnx(m, tmp_path / f"m{k}.onnx", example_inputs(2, 8, 40, 56)))
        for k, m in enumerate(models)
    ]
    kwargs = dict(
        keyframes=[("v", t) for t in range(5)], batch_size=2, collate_fn=collate, flip=True
    )
    scales = [RandomClips(5, 32), RandomClips(5, 48)]
    reference = predict_keyframes(models, [1, 2], scales, **kwargs)
    got = predict_keyframes(detectors, [1, 2], scales, **kwargs)
    assert got.probs.shape == (10, 4)
    assert abs(got.probs - reference.probs).max() <= 1e-5
