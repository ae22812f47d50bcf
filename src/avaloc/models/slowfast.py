"""SlowFast networks (Feichtenhofer et al., ICCV 2019) as PySlowFast builds them, with two heads.

::

    slow clip (B,3,T,H,W)                     fast clip (B,3,alpha*T,H,W)
          |                                          |
    stem: conv 1x7x7, /2, 64w  maxpool 1x3x3 /2   stem: conv 5x7x7, /2, w/beta  maxpool
          |  <-- concat -- lateral conv 7x1x1, stride alpha, 2*(w/beta) ch, BN, ReLU --|
    stage 2: 3 bottlenecks (t=1), 4w out          stage 2: 3 bottlenecks (t=3), 4w/beta
          |  <-- concat -- lateral ----------------------------------------------------|
    stage 3: 4 bottlenecks (t=1), /2, 8w          stage 3: (t=3), /2, 8w/beta
          |  <-- concat -- lateral ----------------------------------------------------|
    stage 4: 6 (R50) / 23 (R101) (t=3), /2, 16w   stage 4: (t=3), /2, 16w/beta
          |  <-- concat -- lateral ----------------------------------------------------|
    stage 5: 3 bottlenecks (t=3), 32w             stage 5: (t=3), 32w/beta
             detection: stride 1, dilation 2 (feature stride 16); classification: stride 2
          |                                          |
    RoI head, per pathway: mean over time -> RoIAlign 7x7 (1/16, aligned) -> 7x7 max pool
          \\-------------------- concat (2304 for R50) -- dropout -- linear --> logits (K, C)
    classification head: global average pool per pathway -> concat -- dropout -- linear

``w`` is ``width_per_group`` (64), ``beta`` is ``beta_inv`` (8), ``alpha`` is 4. A bottleneck is
conv ``t``x1x1 -> conv 1x3x3 (stride, dilation) -> conv 1x1x1 (4x wider), each followed by
BatchNorm (eps 1e-5, momentum 0.1) and ReLU, the residual stride on the 3x3 conv ("stride_1x1"
false), and a 1x1x1 projection shortcut where the shape changes. Forward passes return logits;
prediction code applies the sigmoid (AVA) or softmax itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from avaloc.errors import InputError
from avaloc.models.config import ModelConfig
from avaloc.models.roi_align import roi_align

PATHWAYS = ("slow", "fast")
STAGES = (2, 3, 4, 5)
BLOCKS_PER_STAGE = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
# Temporal kernel of the stem conv, and of the first 1x1 conv of each stage's bottlenecks.
STEM_TEMPORAL_KERNEL = {"slow": 1, "fast": 5}
STAGE_TEMPORAL_KERNEL = {"slow": (1, 1, 3, 3), "fast": (3, 3, 3, 3)}
BOTTLENECK_EXPANSION = 4


def _conv(
    dim_in: int,
    dim_out: int,
    kernel: tuple[int, int, int],
    stride: tuple[int, int, int] = (1, 1, 1),
    dilation: int = 1,
) -> nn.Conv3d:
    padding = (kernel[0] // 2, dilation * (kernel[1] // 2), dilation * (kernel[2] // 2))
    return nn.Conv3d(
        dim_in,
        dim_out,
        kernel,
        stride=stride,
        padding=padding,
        dilation=(1, dilation, dilation),
        bias=False,
    )


class Stem(nn.Module):
    """Conv tx7x7 with spatial stride 2, BN, ReLU, then a 1x3x3 max pool with stride 2."""

    def __init__(self, dim_out: int, temporal_kernel: int) -> None:
        super().__init__()
        self.conv = _conv(3, dim_out, (temporal_kernel, 7, 7), stride=(1, 2, 2))
        self.bn = nn.BatchNorm3d(dim_out)
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.bn(self.conv(x)), inplace=True))


class FastToSlowFusion(nn.Module):
    """Lateral connection: a strided temporal conv of the fast features concatenated onto slow."""

    def __init__(self, fast_channels: int, channel_ratio: int, kernel: int, alpha: int) -> None:
        super().__init__()
        dim_out = fast_channels * channel_ratio
        self.conv = _conv(fast_channels, dim_out, (kernel, 1, 1), (alpha, 1, 1))
        self.bn = nn.BatchNorm3d(dim_out)

    def forward(self, slow: torch.Tensor, fast: torch.Tensor) -> torch.Tensor:
        lateral = F.relu(self.bn(self.conv(fast)), inplace=True)
        if lateral.shape[2] != slow.shape[2]:
            raise InputError(
                f"the fast pathway has {fast.shape[2]} frames at this stage, which a lateral "
                f"stride of {self.conv.stride[0]} maps to {lateral.shape[2]}, but the slow pathway "
                f"has {slow.shape[2]}: the fast clip must have alpha x the slow clip's frames"
            )
        return torch.cat([slow, lateral], dim=1)


class Bottleneck(nn.Module):
    """ResNet bottleneck block with a temporal kernel in its first conv (stride on the 3x3)."""

    def __init__(
        self,
        dim_in: int,
        dim_inner: int,
        dim_out: int,
        temporal_kernel: int,
        stride: int,
        dilation: int,
    ) -> None:
        super().__init__()
        self.conv_a = _conv(dim_in, dim_inner, (temporal_kernel, 1, 1))
        self.bn_a = nn.BatchNorm3d(dim_inner)
        self.conv_b = _conv(dim_inner, dim_inner, (1, 3, 3), (1, stride, stride), dilation)
        self.bn_b = nn.BatchNorm3d(dim_inner)
        self.conv_c = _conv(dim_inner, dim_out, (1, 1, 1))
        self.bn_c = nn.BatchNorm3d(dim_out)
        self.shortcut: nn.Module | None = None
        if dim_in != dim_out or stride != 1:
            self.shortcut = nn.Sequential(
                OrderedDict(
                    conv=_conv(dim_in, dim_out, (1, 1, 1), (1, stride, stride)),
                    bn=nn.BatchNorm3d(dim_out),
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn_a(self.conv_a(x)), inplace=True)
        out = F.relu(self.bn_b(self.conv_b(out)), inplace=True)
        out = self.bn_c(self.conv_c(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + identity, inplace=True)


def stage_channels(config: ModelConfig) -> dict[str, list[tuple[int, int, int]]]:
    """Per pathway and stage: (input, inner, output) channels, as PySlowFast computes them."""
    width, beta, ratio = config.width_per_group, config.beta_inv, config.fusion_channel_ratio
    assert width is not None and beta is not None and ratio is not None
    channels: dict[str, list[tuple[int, int, int]]] = {"slow": [], "fast": []}
    slow_in, fast_in = width + (width // beta) * ratio, width // beta
    for multiplier in (1, 2, 4, 8):
        inner, out = width * multiplier, width * multiplier * BOTTLENECK_EXPANSION
        channels["slow"].append((slow_in, inner, out))
        channels["fast"].append((fast_in, inner // beta, out // beta))
        slow_in, fast_in = out + (out // beta) * ratio, out // beta
    return channels


class SlowFastBackbone(nn.Module):
    """Stems, four residual stages per pathway, and fast-to-slow fusion after stem and stages 2-4.

    Returns the stage-5 features ``[slow (B, 32w, T, H/s, W/s), fast (B, 32w/beta, alpha*T, ...)]``
    with ``s`` = 16 (stage-5 stride 1) or 32.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        width, beta = config.width_per_group, config.beta_inv
        assert width is not None and beta is not None and config.depth is not None
        self.stem = nn.ModuleDict(
            {
                "slow": Stem(width, STEM_TEMPORAL_KERNEL["slow"]),
                "fast": Stem(width // beta, STEM_TEMPORAL_KERNEL["fast"]),
            }
        )
        channels = stage_channels(config)

        def fusion(fast_channels: int) -> FastToSlowFusion:
            return FastToSlowFusion(
                fast_channels, config.fusion_channel_ratio, config.fusion_kernel, config.alpha
            )  # type: ignore[arg-type]

        self.fuse1 = fusion(width // beta)
        strides = (1, 2, 2, config.stage5_stride)
        dilations = (1, 1, 1, config.stage5_dilation)
        for index, stage in enumerate(STAGES):
            pathways = nn.ModuleDict()
            for pathway in PATHWAYS:
                dim_in, dim_inner, dim_out = channels[pathway][index]
                blocks = [
                    Bottleneck(
                        dim_in if block == 0 else dim_out,
                        dim_inner,
                        dim_out,
                        STAGE_TEMPORAL_KERNEL[pathway][index],
                        strides[index] if block == 0 else 1,  # type: ignore[arg-type]
                        dilations[index],  # type: ignore[arg-type]
                    )
                    for block in range(BLOCKS_PER_STAGE[config.depth][index])
                ]
                pathways[pathway] = nn.Sequential(*blocks)
            self.add_module(f"stage{stage}", pathways)
            if stage < 5:
                self.add_module(f"fuse{stage}", fusion(channels["fast"][index][2]))

    def forward(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        slow, fast = self.stem["slow"](inputs[0]), self.stem["fast"](inputs[1])
        slow = self.fuse1(slow, fast)
        for stage in STAGES:
            pathways = getattr(self, f"stage{stage}")
            slow, fast = pathways["slow"](slow), pathways["fast"](fast)
            if stage < 5:
                slow = getattr(self, f"fuse{stage}")(slow, fast)
        return [slow, fast]


class RoIHead(nn.Module):
    """Per pathway: mean over time, RoIAlign, spatial max pool; concat, dropout, linear."""

    def __init__(
        self,
        dims_in: Sequence[int],
        num_classes: int,
        resolution: int,
        scale_factor: int,
        aligned: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.resolution = resolution
        self.spatial_scale = 1.0 / scale_factor
        self.aligned = aligned
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(sum(dims_in), num_classes)

    def pool(self, features: Sequence[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        """(K, sum of channels) RoI features: the input of the dropout and the linear layer."""
        pooled = []
        for feature in features:
            frame = feature.mean(dim=2)
            # Never round box coordinates to the features' precision (bf16 has 8 mantissa bits).
            dtype = torch.promote_types(frame.dtype, boxes.dtype)
            regions = roi_align(
                frame.to(dtype),
                boxes.to(dtype),
                output_size=self.resolution,
                spatial_scale=self.spatial_scale,
                sampling_ratio=0,
                aligned=self.aligned,
            )
            pooled.append(regions.amax(dim=(2, 3)))
        return torch.cat(pooled, dim=1)

    def forward(self, features: Sequence[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.pool(features, boxes)))


class ClassificationHead(nn.Module):
    """Per pathway: global average pool; concat, dropout, linear (clip classification)."""

    def __init__(self, dims_in: Sequence[int], num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(sum(dims_in), num_classes)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        pooled = torch.cat([feature.mean(dim=(2, 3, 4)) for feature in features], dim=1)
        return self.fc(self.dropout(pooled))


class SlowFast(nn.Module):
    """Backbone + head. Detection: ``model([slow, fast], boxes) -> (K, C)`` logits, with
    ``boxes`` (K, 5) = ``[batch_index, x1, y1, x2, y2]`` in input pixels. Classification:
    ``model([slow, fast]) -> (B, C)`` logits. ``config`` is the resolved :class:`ModelConfig`.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.backbone = SlowFastBackbone(config)
        channels = stage_channels(config)
        dims_in = [channels["slow"][-1][2], channels["fast"][-1][2]]
        self.head: RoIHead | ClassificationHead
        if config.head == "roi":
            self.head = RoIHead(
                dims_in,
                config.num_classes,
                config.roi_resolution,  # type: ignore[arg-type]
                config.roi_scale_factor,  # type: ignore[arg-type]
                bool(config.roi_aligned),
                config.dropout,  # type: ignore[arg-type]
            )
        else:
            self.head = ClassificationHead(dims_in, config.num_classes, config.dropout)  # type: ignore[arg-type]

    @property
    def is_detection(self) -> bool:
        return isinstance(self.head, RoIHead)

    def forward(
        self, inputs: Sequence[torch.Tensor], boxes: torch.Tensor | None = None
    ) -> torch.Tensor:
        self._check_inputs(inputs, boxes)
        features = self.backbone(inputs)
        if isinstance(self.head, RoIHead):
            return self.head(features, boxes)  # type: ignore[arg-type]
        return self.head(features)

    def _check_inputs(self, inputs: Sequence[torch.Tensor], boxes: torch.Tensor | None) -> None:
        if len(inputs) != 2 or any(x.dim() != 5 for x in inputs):
            raise InputError(
                "SlowFast takes [slow, fast], two (B, 3, T, H, W) tensors; got "
                + ", ".join(str(tuple(x.shape)) for x in inputs)
            )
        slow, fast = inputs
        if slow.shape[0] != fast.shape[0] or slow.shape[3:] != fast.shape[3:]:
            raise InputError(
                f"slow {tuple(slow.shape)} and fast {tuple(fast.shape)} clips differ in batch "
                "size or frame size"
            )
        if self.is_detection:
            if boxes is None or boxes.dim() != 2 or boxes.shape[1] != 5:
                shape = None if boxes is None else tuple(boxes.shape)
                raise InputError(
                    f"the RoI head needs boxes of shape (K, 5) = [batch_index, x1, y1, x2, y2], "
                    f"got {shape}"
                )
        elif boxes is not None:
            raise InputError("a classification model takes no boxes")


def init_weights(
    model: nn.Module,
    *,
    fc_init_std: float,
    zero_init_final_bn: bool,
    generator: torch.Generator | None = None,
) -> None:
    """PySlowFast's initialisation: He (fan-out) convs, unit BN (zero for each block's last BN
    so that residual blocks start as the identity), normal(0, fc_init_std) linear layers."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            nn.init.kaiming_normal_(
                module.weight, mode="fan_out", nonlinearity="relu", generator=generator
            )
        elif isinstance(module, nn.BatchNorm3d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=fc_init_std, generator=generator)
            nn.init.zeros_(module.bias)
    if zero_init_final_bn:
        for module in model.modules():
            if isinstance(module, Bottleneck):
                nn.init.zeros_(module.bn_c.weight)
