"""Inflating a 2D ImageNet ResNet (torchvision ``resnet50``/``resnet101``) into SlowFast.

For training without a video pre-training checkpoint. The rules, and why:

* **Temporal kernels** (I3D's and PySlowFast's convention): a 2D kernel ``W`` becomes ``t``
  copies of ``W / t`` along time. On a static clip (all frames equal) every inflated conv then
  gives exactly the 2D network's response, away from the zero-padded first and last frames.
* **Slow pathway**: same widths as ResNet-50 (``width_per_group`` 64). Where the slow pathway
  also reads the fast-to-slow lateral channels (the first block of stages 2-5, in ``conv_a`` and
  the shortcut), the ImageNet weights fill the first input channels and the lateral part is set
  to **zero**: at the start, the slow pathway is exactly the inflated ResNet, and the laterals
  start contributing as training moves those weights off zero (their gradients are not zero).
* **Fast pathway**: 1/``beta_inv`` of the widths, which no ImageNet network has. With
  ``fast_pathway="slice"`` (default) each fast tensor takes the *leading* output and input
  channels of the corresponding ResNet tensor (then inflated over time), and BN affine
  parameters likewise; BN running statistics are reset (mean 0, var 1), because a conv that sees
  only 1/8 of its inputs no longer has the 2D network's activation statistics. This keeps
  ImageNet filter shapes (edges, colour blobs) as a starting point; it is a heuristic, not an
  equivalence. ``fast_pathway="keep"`` leaves the fast pathway at its fresh initialisation, as
  PySlowFast does for tensors whose shapes differ.
* Lateral convs and the head have no 2D counterpart and keep their initialisation.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import torch

from avaloc.errors import InputError
from avaloc.models.slowfast import BLOCKS_PER_STAGE, SlowFast
from avaloc.models.weights import read_checkpoint

FAST_PATHWAY_MODES = ("slice", "keep")
_LAYER = re.compile(r"^layer(\d)\.(\d+)\.(conv[123]|bn[123]|downsample\.[01])\.(\w+)$")
_PART = {
    "conv1": "conv_a",
    "bn1": "bn_a",
    "conv2": "conv_b",
    "bn2": "bn_b",
    "conv3": "conv_c",
    "bn3": "bn_c",
    "downsample.0": "shortcut.conv",
    "downsample.1": "shortcut.bn",
}


@dataclass
class InflationReport:
    """Counts of what inflation wrote, per pathway, and what it left alone."""

    slow: int = 0
    fast: int = 0
    untouched: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"inflated {self.slow} slow-pathway and {self.fast} fast-pathway tensors from the 2D "
            f"ResNet; {len(self.untouched)} tensors keep their initialisation (laterals, head"
            f"{', fast pathway' if self.fast == 0 else ''})"
        )


def _avaloc_name(key_2d: str, pathway: str) -> str | None:
    if key_2d.startswith(("conv1.", "bn1.")):
        layer, param = key_2d.split(".", 1)
        return f"backbone.stem.{pathway}.{'conv' if layer == 'conv1' else 'bn'}.{param}"
    match = _LAYER.match(key_2d)
    if match is None:
        return None
    layer, block, part, param = match.groups()
    return f"backbone.stage{int(layer) + 1}.{pathway}.{block}.{_PART[part]}.{param}"


def _inflate_tensor(
    source: torch.Tensor, target: torch.Tensor, *, pad_inputs: bool, key: str
) -> torch.Tensor:
    """``source`` (2D, possibly wider) brought to ``target``'s shape by the module's rules."""
    if source.dim() == 0:
        return source.clone()
    if source.dim() == 4:  # conv: (out, in, kh, kw) -> (out, in, t, kh, kw)
        temporal = target.shape[2]
        source = source.unsqueeze(2).repeat(1, 1, temporal, 1, 1) / temporal
    out = torch.zeros_like(target)
    if source.dim() == 1:
        out.copy_(source[: target.shape[0]])
        return out
    channels_in = min(source.shape[1], target.shape[1])
    if pad_inputs and target.shape[1] > source.shape[1]:  # slow: zero lateral input channels
        out[:, :channels_in] = source[: target.shape[0], :channels_in]
        return out
    if source.shape[2:] != target.shape[2:]:
        raise InputError(f"kernel {list(source.shape)} does not fit {list(target.shape)}", key=key)
    out.copy_(source[: target.shape[0], : target.shape[1]])
    return out


def inflate_resnet2d(
    model: SlowFast, path: str | os.PathLike, *, fast_pathway: str = "slice"
) -> InflationReport:
    """Initialise ``model``'s backbone from a torchvision ResNet state dict saved at ``path``."""
    if fast_pathway not in FAST_PATHWAY_MODES:
        raise InputError(
            f"fast_pathway must be one of {', '.join(FAST_PATHWAY_MODES)}, got {fast_pathway!r}"
        )
    checkpoint: dict[str, Any] = read_checkpoint(path)
    state_2d = checkpoint.get("state_dict", checkpoint)
    if "conv1.weight" not in state_2d or not any(k.startswith("layer4.") for k in state_2d):
        raise InputError("not a torchvision ResNet state dict (no conv1 / layer4)", path=path)
    depth = model.config.depth
    blocks = tuple(
        len({k.split(".")[1] for k in state_2d if k.startswith(f"layer{layer}.")})
        for layer in (1, 2, 3, 4)
    )
    if blocks != BLOCKS_PER_STAGE[depth]:  # type: ignore[index]
        raise InputError(
            f"the 2D ResNet has {blocks} blocks per stage, the model (depth {depth}) "
            f"{BLOCKS_PER_STAGE[depth]}",  # type: ignore[index]
            path=path,
        )
    target = model.state_dict()
    if target["backbone.stem.slow.conv.weight"].shape[0] != state_2d["conv1.weight"].shape[0]:
        raise InputError(
            f"the slow pathway must have the 2D network's widths: width_per_group "
            f"{model.config.width_per_group} vs {state_2d['conv1.weight'].shape[0]}",
            path=path,
        )
    updates: dict[str, torch.Tensor] = {}
    report = InflationReport()
    pathways = ("slow", "fast") if fast_pathway == "slice" else ("slow",)
    for key_2d, tensor in state_2d.items():
        for pathway in pathways:
            name = _avaloc_name(key_2d, pathway)
            if name is None:
                continue
            if name not in target:
                raise InputError(f"no counterpart {name} in the model", path=path, key=key_2d)
            if pathway == "fast" and name.endswith(("running_mean", "running_var")):
                continue  # reset below: a sliced conv has other statistics
            updates[name] = _inflate_tensor(
                tensor, target[name], pad_inputs=pathway == "slow", key=key_2d
            )
            setattr(report, pathway, getattr(report, pathway) + 1)
    model.load_state_dict(updates, strict=False)
    if fast_pathway == "slice":
        for name, module in model.backbone.named_modules():
            if isinstance(module, torch.nn.BatchNorm3d) and ".fast." in f".{name}.":
                module.reset_running_stats()
    report.untouched = sorted(k for k in target if k not in updates)
    return report
