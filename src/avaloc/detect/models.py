"""Faster R-CNN + FPN person detectors (torchvision), built without any download.

Every torchvision builder is called with ``weights=None`` and the backbone's ImageNet weights
``None``: weights come only from files the user names (:func:`load_detector_weights` for a full
detector, :func:`load_backbone_weights` for an ImageNet backbone). The head has two classes
(0 background, 1 person). Started from weights, the backbone uses frozen batch-norm and trains its
last ``trainable_backbone_layers`` stages (torchvision's fine-tuning recipe); from scratch, plain
batch-norm and every stage train.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import mobilenet_backbone, resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops.misc import FrozenBatchNorm2d

from avaloc.detect.config import DetectorConfig, validate_detector_config
from avaloc.errors import InputError
from avaloc.models.roi_align import BagMultiScaleRoIAlign

NUM_CLASSES = 2  # background, person
COCO_NUM_CLASSES = 91
COCO_PERSON = 1
CHECKPOINT_FORMAT = "avaloc-detector"

_RESNETS = {"resnext101_32x8d_fpn": "resnext101_32x8d", "resnet50_fpn": "resnet50"}
_MAX_TRAINABLE = {"resnext101_32x8d_fpn": 5, "resnet50_fpn": 5, "mobilenet_v3_large_fpn": 6}


def _starts_from_weights(cfg: DetectorConfig) -> bool:
    return bool(cfg.weights) or bool(cfg.backbone_weights)


def _last_stages(count: int) -> list[int]:
    """MobileNetV3-Large's ``returned_layers`` for its last ``count`` stages (it has 6; the
    last two, both at stride 32, are torchvision's choice; 3 adds stride 16, 4 stride 8)."""
    return list(range(6 - count, 6))


def build_detector(cfg: DetectorConfig, *, load_weights: bool = True) -> FasterRCNN:
    """A two-class Faster R-CNN FPN for ``cfg.backbone``, with the weights files of ``cfg`` loaded.

    ``load_weights=False`` builds the bare architecture (used when a checkpoint is loaded next).
    """
    validate_detector_config(cfg)
    if cfg.backbone == "hog":
        raise InputError(
            "the HOG detector is not a torchvision model; use make_detector", key="backbone"
        )
    pretrained = _starts_from_weights(cfg)
    norm_layer = FrozenBatchNorm2d if pretrained else nn.BatchNorm2d
    max_trainable = _MAX_TRAINABLE[cfg.backbone]
    trainable = min(cfg.trainable_backbone_layers, max_trainable) if pretrained else max_trainable
    common: dict[str, Any] = {
        "min_size": cfg.min_size,
        "max_size": cfg.max_size,
        "box_score_thresh": cfg.score_threshold,
        "box_nms_thresh": cfg.nms_iou,
        "box_detections_per_img": cfg.max_detections,
        "rpn_pre_nms_top_n_train": cfg.rpn_pre_nms_top_n_train,
        "rpn_post_nms_top_n_train": cfg.rpn_post_nms_top_n_train,
        "rpn_pre_nms_top_n_test": cfg.rpn_pre_nms_top_n_test,
        "rpn_post_nms_top_n_test": cfg.rpn_post_nms_top_n_test,
        "box_batch_size_per_image": cfg.box_batch_size_per_image,
    }
    if cfg.backbone in _RESNETS:
        backbone = resnet_fpn_backbone(
            backbone_name=_RESNETS[cfg.backbone],
            weights=None,
            norm_layer=norm_layer,
            trainable_layers=trainable,
        )
        anchors = AnchorGenerator(
            tuple((size,) for size in (32, 64, 128, 256, 512)),
            (tuple(cfg.head.aspect_ratios),) * 5,
        )
    else:
        backbone = mobilenet_backbone(
            backbone_name="mobilenet_v3_large",
            weights=None,
            fpn=True,
            norm_layer=norm_layer,
            trainable_layers=trainable,
            returned_layers=_last_stages(cfg.head.fpn_stages),
        )
        # torchvision's mobilenet_v3_large_fpn recipe: all anchor sizes on every level.
        levels = cfg.head.fpn_stages + 1  # + the max-pooled extra level
        anchors = AnchorGenerator(
            (tuple(cfg.head.anchor_sizes),) * levels, (tuple(cfg.head.aspect_ratios),) * levels
        )
        common["rpn_score_thresh"] = 0.05
    resolution = 7
    model = FasterRCNN(
        backbone,
        num_classes=None,
        rpn_anchor_generator=anchors,
        box_roi_pool=BagMultiScaleRoIAlign(
            ["0", "1", "2", "3"], resolution, sampling_ratio=cfg.head.roi_sampling_ratio
        ),
        box_head=TwoMLPHead(backbone.out_channels * resolution**2, cfg.head.box_head_size),
        box_predictor=FastRCNNPredictor(cfg.head.box_head_size, NUM_CLASSES),
        **common,
    )
    if load_weights:
        if cfg.backbone_weights:
            load_backbone_weights(model, cfg.backbone_weights)
        if cfg.weights:
            load_detector_weights(model, cfg.weights)
    return model


def _load_file(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise InputError("weights file not found", path=path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or pickled files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"cannot load as a weights-only torch file ({first[:200]})", path=path
        ) from None


def _state_dict_of(loaded: Any, path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensor mapping inside an avaloc checkpoint, a training dict or a bare state dict."""
    if not isinstance(loaded, Mapping):
        raise InputError(f"expected a state dict, found a {type(loaded).__name__}", path=path)
    for key in ("model_state", "model", "state_dict"):
        if key in loaded and isinstance(loaded[key], Mapping):
            loaded = loaded[key]
            break
    state = {k.removeprefix("module."): v for k, v in loaded.items() if torch.is_tensor(v)}
    if not state:
        raise InputError("holds no tensors", path=path)
    return state


def _remap_coco_predictor(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep background + COCO's person (row 1) of a 91-class box predictor."""
    keep = [0, COCO_PERSON]
    cls_w = "roi_heads.box_predictor.cls_score.weight"
    cls_b = "roi_heads.box_predictor.cls_score.bias"
    box_w = "roi_heads.box_predictor.bbox_pred.weight"
    box_b = "roi_heads.box_predictor.bbox_pred.bias"
    box_rows = torch.tensor([4 * c + k for c in keep for k in range(4)])
    state = dict(state)
    state[cls_w] = state[cls_w][keep]
    state[cls_b] = state[cls_b][keep]
    state[box_w] = state[box_w][box_rows]
    state[box_b] = state[box_b][box_rows]
    return state


def _load_into(
    module: nn.Module, state: dict[str, torch.Tensor], path: str | os.PathLike, what: str
) -> None:
    own = module.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own and not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        details = []
        if missing:
            details.append(f"{len(missing)} missing (first: {missing[0]})")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected (first: {unexpected[0]})")
        raise InputError(f"does not fit the {what}: " + ", ".join(details), path=path)
    for key, value in state.items():
        if key in own and own[key].shape != value.shape:
            raise InputError(
                f"does not fit the {what}: {key} has shape {tuple(value.shape)}, "
                f"expected {tuple(own[key].shape)}",
                path=path,
            )
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)


def load_detector_weights(model: FasterRCNN, path: str | os.PathLike) -> dict[str, Any]:
    """Load a detector checkpoint into ``model``; returns the file's non-tensor metadata.

    Accepts an avaloc detector checkpoint (``model_state``), a torchvision training dict
    (``model``) or a bare state dict; a COCO checkpoint's 91-class box predictor is reduced to
    background + person. Raises InputError for a missing, unreadable or mismatched file.
    """
    loaded = _load_file(path)
    state = _state_dict_of(loaded, path)
    cls_key = "roi_heads.box_predictor.cls_score.weight"
    if cls_key in state and state[cls_key].shape[0] == COCO_NUM_CLASSES:
        state = _remap_coco_predictor(state)
    _load_into(model, state, path, "detector")
    if isinstance(loaded, Mapping) and "model_state" in loaded:
        return {k: v for k, v in loaded.items() if k not in ("model_state", "optimizer_state")}
    return {}


def load_backbone_weights(model: FasterRCNN, path: str | os.PathLike) -> None:
    """Load ImageNet classification weights (torchvision layout) into the detector's backbone."""
    state = _state_dict_of(_load_file(path), path)
    body = model.backbone.body
    own = body.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key.removeprefix("features.")  # MobileNetV3: the body is its ``features``
        if name in own:
            mapped[name] = value
    if not mapped:
        raise InputError("holds no parameter of this backbone", path=path)
    _load_into(body, mapped, path, "backbone")


def detector_checkpoint(
    model: FasterRCNN, cfg_dict: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """The plain dict an avaloc detector checkpoint holds (loadable with weights_only=True)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model_state": model.state_dict(),
        "detector_config": cfg_dict,
        **extra,
    }
