"""Detector building, config validation and weights files (COCO remap, errors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models import mobilenet_v3_large
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

from avaloc.config import load_config
from avaloc.detect import (
    DetectorConfig,
    TorchvisionDetector,
    build_detector,
    load_backbone_weights,
    load_detector_weights,
    validate_detector_config,
)
from avaloc.detect.train import resolve_detector_config
from avaloc.errors import InputError
from avaloc.fileio import atomic_path

SMALL = {"min_size": 96, "max_size": 128}


class _Foreign:
    """An arbitrary pickled object: a weights-only load must refuse it."""


def _mobilenet(**kwargs) -> torch.nn.Module:
    return build_detector(DetectorConfig(backbone="mobilenet_v3_large_fpn", **SMALL, **kwargs))


@pytest.mark.parametrize("backbone", ["mobilenet_v3_large_fpn", "resnet50_fpn"])
def test_built_detector_has_two_classes_and_runs(backbone: str) -> None:
    model = build_detector(DetectorConfig(backbone=backbone, **SMALL))
    assert model.roi_heads.box_predictor.cls_score.out_features == 2
    assert model.roi_heads.box_predictor.bbox_pred.out_features == 8
    # From scratch: plain batch-norm, every backbone parameter trains.
    assert all(p.requires_grad for p in model.backbone.body.parameters())
    detector = TorchvisionDetector(model)
    frame = np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    (found,) = detector.detect([frame])
    assert found.boxes.shape == (len(found), 4)
    assert np.all(np.diff(found.scores) <= 0)
    assert np.all((found.boxes[:, 2] <= 120) & (found.boxes[:, 3] <= 90))


@pytest.mark.slow
def test_resnext101_is_the_reports_backbone() -> None:
    model = build_detector(DetectorConfig(backbone="resnext101_32x8d_fpn", **SMALL))
    conv = model.backbone.body.layer1[0].conv2
    assert conv.groups == 32  # ResNeXt 32x8d: grouped 3x3 convolutions
    assert conv.in_channels == 256  # 32 groups x 8 channels in the first stage
    assert model.roi_heads.box_predictor.cls_score.out_features == 2


def test_config_validation_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="backbone"):
        validate_detector_config(DetectorConfig(backbone="vgg16"))
    with pytest.raises(InputError, match=r"hog\.scale"):
        cfg = DetectorConfig()
        cfg.hog.scale = 1.0
        validate_detector_config(cfg)
    yaml_file = tmp_path / "d.yaml"
    yaml_file.write_text("backbone: resnet50_fpn\ntrain:\n  max_iter: 3\n")
    with pytest.raises(InputError, match="max_iter"):
        load_config(DetectorConfig, yaml_file)
    assert DetectorConfig().downstream_threshold == 0.85


def test_coco_checkpoint_keeps_background_and_person_rows(tmp_path: Path) -> None:
    torch.manual_seed(0)
    coco = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=91)
    path = tmp_path / "coco.pth"
    torch.save(coco.state_dict(), path)
    model = _mobilenet(weights=str(path))
    predictor = model.roi_heads.box_predictor
    source = coco.roi_heads.box_predictor
    assert torch.equal(predictor.cls_score.weight, source.cls_score.weight[[0, 1]])
    assert torch.equal(predictor.cls_score.bias, source.cls_score.bias[[0, 1]])
    assert torch.equal(predictor.bbox_pred.weight, source.bbox_pred.weight[:8])
    assert torch.equal(predictor.bbox_pred.bias, source.bbox_pred.bias[:8])
    ours = model.state_dict()
    for key, value in coco.state_dict().items():
        if key.startswith("backbone.") and not key.endswith("num_batches_tracked"):
            assert torch.equal(ours[key], value), key
    # Started from weights: frozen batch-norm and only the last stages train.
    assert not all(p.requires_grad for p in model.backbone.body.parameters())


def test_backbone_weights_load_into_the_body(tmp_path: Path) -> None:
    torch.manual_seed(1)
    imagenet = mobilenet_v3_large(weights=None)
    path = tmp_path / "mnv3.pth"
    torch.save(imagenet.state_dict(), path)
    model = _mobilenet(backbone_weights=str(path))
    body = model.backbone.body.state_dict()
    assert torch.equal(body["0.0.weight"], imagenet.features[0][0].weight)
    assert torch.equal(body["16.0.weight"], imagenet.features[16][0].weight)


def test_weights_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="weights file not found"):
        _mobilenet(weights=str(tmp_path / "absent.pth"))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file at all")
    with pytest.raises(InputError, match="cannot load as a weights-only torch file"):
        _mobilenet(weights=str(garbage))
    pickled = tmp_path / "pickled.pth"
    torch.save({"model": _Foreign()}, pickled)
    with pytest.raises(InputError, match=str(pickled.name)):
        _mobilenet(weights=str(pickled))
    other = tmp_path / "resnet.pth"
    torch.save(build_detector(DetectorConfig(backbone="resnet50_fpn", **SMALL)).state_dict(), other)
    with pytest.raises(InputError, match=r"does not fit the detector: .* missing"):
        _mobilenet(weights=str(other))
    model = _mobilenet()
    shapes = {
        k: torch.zeros(3) if k.endswith("cls_score.bias") else v
        for k, v in model.state_dict().items()
    }
    bad_shape = tmp_path / "shape.pth"
    torch.save(shapes, bad_shape)
    with pytest.raises(InputError, match=r"cls_score\.bias has shape"):
        load_detector_weights(model, bad_shape)
    with pytest.raises(InputError, match="holds no parameter of this backbone"):
        load_backbone_weights(model, other)


def test_avaloc_weights_bring_their_architecture(tmp_path: Path) -> None:
    model = build_detector(DetectorConfig(backbone="mobilenet_v3_large_fpn", min_size=96))
    from avaloc.config import config_to_dict
    from avaloc.detect.models import detector_checkpoint

    path = tmp_path / "detector.pt"
    cfg = DetectorConfig(backbone="mobilenet_v3_large_fpn", min_size=96, max_size=128)
    with atomic_path(path) as tmp:
        torch.save(detector_checkpoint(model, config_to_dict(cfg), iteration=3), tmp)
    resolved = resolve_detector_config(None, ["score_threshold=0.2"], weights=path)
    assert resolved.backbone == "mobilenet_v3_large_fpn"
    assert (resolved.min_size, resolved.score_threshold) == (96, 0.2)
    rebuilt = build_detector(resolved)
    for key, value in model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(rebuilt.state_dict()[key], value), key


def test_default_head_is_torchvisions_mobilenet_recipe() -> None:
    ours = _mobilenet().state_dict()
    reference = fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None, num_classes=2
    ).state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in reference.items()
    }


def test_head_options_change_levels_anchors_and_box_head() -> None:
    from avaloc.detect.config import DetectorHeadConfig

    head = DetectorHeadConfig(fpn_stages=4, aspect_ratios=[1.0, 2.0, 3.0], box_head_size=64)
    model = build_detector(
        DetectorConfig(backbone="mobilenet_v3_large_fpn", min_size=168, max_size=224, head=head)
    )
    features = model.backbone(torch.zeros(1, 3, 168, 224))
    # strides 8, 16, 32, 32 (torchvision's two levels) and the max-pooled extra level
    assert [f.shape[-2] for f in features.values()] == [21, 11, 6, 6, 3]
    generator = model.rpn.anchor_generator
    assert generator.num_anchors_per_location() == [5 * 3] * len(features)
    assert model.roi_heads.box_head.fc7.out_features == 64
    assert model.roi_heads.box_predictor.cls_score.in_features == 64
    assert model.roi_heads.box_roi_pool.sampling_ratio == 2


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("head.fpn_stages=5", "head.fpn_stages"),
        ("head.anchor_sizes=[]", "head.anchor_sizes"),
        ("head.aspect_ratios=[0.0]", "head.aspect_ratios"),
        ("head.roi_sampling_ratio=-1", "head.roi_sampling_ratio"),
        ("head.box_head_size=0", "head.box_head_size"),
    ],
)
def test_bad_head_values_name_their_key(tmp_path: Path, override: str, key: str) -> None:
    path = tmp_path / "detector.yaml"
    path.write_text("backbone: mobilenet_v3_large_fpn\n")
    cfg = load_config(DetectorConfig, path, [override])
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        validate_detector_config(cfg)
