"""Import of PySlowFast ``.pyth`` checkpoints: key mapping, config translation, safe loading.

A ``.pyth`` file is a dict with ``model_state`` (PySlowFast's state dict), ``epoch``,
``optimizer_state`` and ``cfg`` (the run's yacs config as a YAML string). It is read with
``torch.load(weights_only=True)``: only tensors and plain containers are unpickled, never
arbitrary objects. The model is built from the checkpoint's own ``cfg``; the weights are mapped
name by name (see :func:`pyslowfast_to_avaloc_key`) and every missing, unexpected or mis-shaped
key is reported.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from avaloc.errors import InputError
from avaloc.models.config import ModelConfig
from avaloc.models.registry import build_model, list_models, resolve_config
from avaloc.models.slowfast import SlowFast
from avaloc.models.weights import (
    HEAD_PREFIX,
    LoadReport,
    load_state,
    read_checkpoint,
    require_tensor_state,
)

LOGGER = logging.getLogger(__name__)

_PATHWAY = {"0": "slow", "1": "fast"}
_BLOCK = r"^s(?P<stage>\d)\.pathway(?P<pathway>\d)_res(?P<block>\d+)\."
_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^s1\.pathway(?P<pathway>\d)_stem\.(?P<layer>conv|bn)\.(?P<param>\w+)$"),
        "backbone.stem.{pathway}.{layer}.{param}",
    ),
    (
        re.compile(r"^s(?P<stage>\d)_fuse\.conv_f2s\.(?P<param>\w+)$"),
        "backbone.fuse{stage}.conv.{param}",
    ),
    (re.compile(r"^s(?P<stage>\d)_fuse\.bn\.(?P<param>\w+)$"), "backbone.fuse{stage}.bn.{param}"),
    (
        re.compile(_BLOCK + r"branch1\.(?P<param>\w+)$"),
        "backbone.stage{stage}.{pathway}.{block}.shortcut.conv.{param}",
    ),
    (
        re.compile(_BLOCK + r"branch1_bn\.(?P<param>\w+)$"),
        "backbone.stage{stage}.{pathway}.{block}.shortcut.bn.{param}",
    ),
    (
        re.compile(_BLOCK + r"branch2\.(?P<part>[abc])\.(?P<param>\w+)$"),
        "backbone.stage{stage}.{pathway}.{block}.conv_{part}.{param}",
    ),
    (
        re.compile(_BLOCK + r"branch2\.(?P<part>[abc])_bn\.(?P<param>\w+)$"),
        "backbone.stage{stage}.{pathway}.{block}.bn_{part}.{param}",
    ),
    (re.compile(r"^head\.projection\.(?P<param>\w+)$"), HEAD_PREFIX + "fc.{param}"),
]


def pyslowfast_to_avaloc_key(key: str) -> str | None:
    """avaloc's name for a PySlowFast state-dict key, or None if it names nothing of SlowFast."""
    bare = key.removeprefix("module.")  # saved from a DistributedDataParallel wrapper
    for pattern, template in _RULES:
        match = pattern.match(bare)
        if match:
            groups = match.groupdict()
            if "pathway" in groups:
                groups["pathway"] = _PATHWAY.get(groups["pathway"], groups["pathway"])
            return template.format(**groups)
    return None


def convert_pyslowfast_state(state: dict[str, torch.Tensor]) -> tuple[dict[str, Any], list[str]]:
    """Rename a PySlowFast state dict to avaloc's names; also returns the unmapped keys."""
    converted: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in state.items():
        new_key = pyslowfast_to_avaloc_key(key)
        if new_key is None:
            unknown.append(key)
        else:
            converted[new_key] = value
    return converted, unknown


def read_pyslowfast_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint dict, read without unpickling arbitrary objects; InputError if unusable."""
    checkpoint = read_checkpoint(path)
    if "model_state" not in checkpoint:
        raise InputError(
            "not a PySlowFast checkpoint: expected a dict with 'model_state' and 'cfg', found "
            f"keys {sorted(map(str, checkpoint))}",
            path=path,
        )
    require_tensor_state(checkpoint["model_state"], path)
    return checkpoint


def _get(cfg: dict[str, Any], dotted: str, path: Path) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise InputError("the checkpoint's cfg lacks this entry", path=path, key=dotted)
        node = node[part]
    return node


def config_from_pyslowfast_cfg(cfg_text: str, path: str | os.PathLike = "<cfg>") -> ModelConfig:
    """The resolved ModelConfig of the network a PySlowFast config (YAML text) builds.

    Fails with InputError (naming the cfg key) for what avaloc does not build: another ``ARCH``,
    non-local blocks, ResNeXt groups, stride on the 1x1 conv, reduced temporal kernels.
    """
    path = Path(path)
    try:
        cfg = yaml.safe_load(cfg_text)
    except yaml.YAMLError as exc:
        raise InputError(f"the checkpoint's cfg is not valid YAML ({exc})", path=path) from None
    if not isinstance(cfg, dict):
        raise InputError("the checkpoint's cfg is not a mapping", path=path)

    def get(dotted: str) -> Any:
        return _get(cfg, dotted, path)

    def unsupported(key: str, value: Any, need: str) -> InputError:
        return InputError(f"{value!r} is not supported by avaloc ({need})", path=path, key=key)

    if get("MODEL.ARCH") != "slowfast":
        raise unsupported("MODEL.ARCH", get("MODEL.ARCH"), "only 'slowfast' networks")
    depth = get("RESNET.DEPTH")
    if depth not in (50, 101):
        raise unsupported("RESNET.DEPTH", depth, "50 or 101")
    if get("RESNET.NUM_GROUPS") != 1:
        raise unsupported("RESNET.NUM_GROUPS", get("RESNET.NUM_GROUPS"), "1: no ResNeXt")
    if get("RESNET.STRIDE_1X1"):
        raise unsupported("RESNET.STRIDE_1X1", True, "the stride is on the 3x3 conv")
    if get("RESNET.TRANS_FUNC") != "bottleneck_transform":
        raise unsupported("RESNET.TRANS_FUNC", get("RESNET.TRANS_FUNC"), "bottleneck_transform")
    if cfg.get("BN", {}).get("NORM_TYPE", "batchnorm") != "batchnorm":
        raise unsupported("BN.NORM_TYPE", cfg["BN"]["NORM_TYPE"], "batchnorm")
    blocks = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}[depth]
    temp_kernel = get("RESNET.NUM_BLOCK_TEMP_KERNEL")
    if [list(map(int, row)) for row in temp_kernel] != [[n, n] for n in blocks]:
        raise unsupported(
            "RESNET.NUM_BLOCK_TEMP_KERNEL", temp_kernel, "temporal kernels in every block"
        )
    locations = cfg.get("NONLOCAL", {}).get("LOCATION", [])
    if any(any(stage) for stage in locations):
        raise unsupported("NONLOCAL.LOCATION", locations, "no non-local blocks")
    strides = [list(map(int, row)) for row in get("RESNET.SPATIAL_STRIDES")]
    dilations = [list(map(int, row)) for row in get("RESNET.SPATIAL_DILATIONS")]
    if strides[:3] != [[1, 1], [2, 2], [2, 2]] or strides[3][0] != strides[3][1]:
        raise unsupported("RESNET.SPATIAL_STRIDES", strides, "[[1,1],[2,2],[2,2],[s,s]]")
    if dilations[:3] != [[1, 1]] * 3 or dilations[3][0] != dilations[3][1]:
        raise unsupported("RESNET.SPATIAL_DILATIONS", dilations, "[[1,1],[1,1],[1,1],[d,d]]")
    try:
        detection = bool(cfg.get("DETECTION", {}).get("ENABLE", False))
        width = int(get("RESNET.WIDTH_PER_GROUP"))
        config = ModelConfig(
            name=_closest_variant(depth, width, detection),
            num_classes=int(get("MODEL.NUM_CLASSES")),
            head="roi" if detection else "classification",
            depth=depth,
            width_per_group=width,
            alpha=int(get("SLOWFAST.ALPHA")),
            beta_inv=int(get("SLOWFAST.BETA_INV")),
            fusion_channel_ratio=int(get("SLOWFAST.FUSION_CONV_CHANNEL_RATIO")),
            fusion_kernel=int(get("SLOWFAST.FUSION_KERNEL_SZ")),
            stage5_stride=strides[3][0],
            stage5_dilation=dilations[3][0],
            dropout=float(get("MODEL.DROPOUT_RATE")),
            fc_init_std=float(cfg.get("MODEL", {}).get("FC_INIT_STD", 0.01)),
            zero_init_final_bn=bool(cfg.get("RESNET", {}).get("ZERO_INIT_FINAL_BN", True)),
        )
        if detection:
            config.roi_resolution = int(get("DETECTION.ROI_XFORM_RESOLUTION"))
            config.roi_scale_factor = int(get("DETECTION.SPATIAL_SCALE_FACTOR"))
            config.roi_aligned = bool(get("DETECTION.ALIGNED"))
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"a value of the checkpoint's cfg has the wrong type ({exc})", path=path
        ) from None
    return resolve_config(config)


def _closest_variant(depth: int, width: int, detection: bool) -> str:
    head = "detection" if detection else "classification"
    slim = f"slowfast_r{depth}_w{width}_{head}"
    return slim if slim in list_models() else f"slowfast_r{depth}_{head}"


@dataclass
class PySlowFastImport:
    """A model built and loaded from a PySlowFast checkpoint, with what happened on the way."""

    model: SlowFast
    config: ModelConfig
    report: LoadReport
    epoch: int | None
    source: dict[str, Any] = field(default_factory=dict)


def import_pyslowfast_checkpoint(
    path: str | os.PathLike, *, num_classes: int | None = None
) -> PySlowFastImport:
    """Build the network a ``.pyth`` checkpoint's ``cfg`` describes and load its weights.

    ``num_classes`` other than the checkpoint's own builds a fresh head of that size; the
    checkpoint's head is then skipped with a message (e.g. a Kinetics model fine-tuned on AVA).
    Every backbone tensor must be present with its exact shape, and nothing may be left over;
    otherwise InputError lists the missing, unexpected and mis-shaped keys.
    """
    checkpoint = read_pyslowfast_checkpoint(path)
    if not isinstance(checkpoint.get("cfg"), str):
        raise InputError(
            "the checkpoint has no 'cfg' YAML string, so the network it holds is unknown",
            path=path,
        )
    config = config_from_pyslowfast_cfg(checkpoint["cfg"], path)
    if num_classes is not None and num_classes != config.num_classes:
        config.num_classes = num_classes
    model = build_model(config)
    state, unknown = convert_pyslowfast_state(checkpoint["model_state"])
    report = load_state(model, state, source=os.fspath(path), unexpected_extra=unknown)
    epoch = checkpoint.get("epoch")
    return PySlowFastImport(
        model=model,
        config=model.config,
        report=report,
        epoch=int(epoch) if isinstance(epoch, int) else None,
        source={"format": "pyslowfast", "path": os.fspath(path), "epoch": epoch},
    )


def load_pyslowfast_checkpoint(
    path: str | os.PathLike, *, num_classes: int | None = None
) -> SlowFast:
    """The avaloc model (eval mode) equivalent to a PySlowFast ``.pyth`` checkpoint.

    Its forward returns logits, where PySlowFast's AVA model returns their sigmoid.
    """
    imported = import_pyslowfast_checkpoint(path, num_classes=num_classes)
    for line in imported.report.messages():
        LOGGER.warning(line)
    return imported.model.eval()
