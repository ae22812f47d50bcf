"""The model stage's typed config: a registered variant name plus optional overrides.

``name`` picks a registered variant (see :func:`avaloc.models.list_models`); every other field left
at ``None`` takes that variant's value, and a field that is set overrides it. A model records its
fully resolved config (no ``None`` left) so that a checkpoint can rebuild it exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from avaloc.errors import InputError

HEAD_TYPES = ("roi", "classification")
DEPTHS = (50, 101)


@dataclass
class ModelConfig:
    """Architecture of a SlowFast network (PySlowFast's ``SlowFast`` with a ResNet bottleneck)."""

    name: str = "slowfast_r50_detection"
    num_classes: int = 80
    # None = the variant's value.
    head: str | None = None  # "roi" (AVA detection) or "classification" (clip pre-training)
    depth: int | None = None  # ResNet depth: 50 or 101
    width_per_group: int | None = None  # slow-pathway stem width (64 in the paper, 8 for CPU)
    alpha: int | None = None  # frame-rate ratio fast/slow
    beta_inv: int | None = None  # channel ratio slow/fast
    fusion_channel_ratio: int | None = None  # lateral conv output = fast channels x this
    fusion_kernel: int | None = None  # temporal kernel of the lateral conv
    stage5_stride: int | None = None  # spatial stride of stage 5 (1 for detection, 2 otherwise)
    stage5_dilation: int | None = None  # spatial dilation of stage 5 (2 for detection)
    dropout: float | None = None  # dropout before the final linear layer
    roi_resolution: int | None = None  # RoIAlign output size (7)
    roi_scale_factor: int | None = None  # input pixels per feature cell (16)
    roi_aligned: bool | None = None  # RoIAlign with the half-pixel offset (aligned=True)
    fc_init_std: float | None = None  # std of the final linear layer's normal init (0.01)
    zero_init_final_bn: bool | None = None  # residual blocks start as identity

    def validate(self) -> None:
        """Raise InputError naming the key of the first invalid value (resolved configs only)."""
        checks: list[tuple[str, bool, str]] = [
            ("num_classes", self.num_classes >= 1, "must be >= 1"),
            ("head", self.head in HEAD_TYPES, f"must be one of {', '.join(HEAD_TYPES)}"),
            ("depth", self.depth in DEPTHS, "must be 50 or 101"),
            ("width_per_group", (self.width_per_group or 0) >= 1, "must be >= 1"),
            ("alpha", (self.alpha or 0) >= 1, "must be >= 1"),
            ("beta_inv", (self.beta_inv or 0) >= 1, "must be >= 1"),
            ("fusion_channel_ratio", (self.fusion_channel_ratio or 0) >= 1, "must be >= 1"),
            ("fusion_kernel", (self.fusion_kernel or 0) % 2 == 1, "must be odd and >= 1"),
            ("stage5_stride", self.stage5_stride in (1, 2), "must be 1 or 2"),
            ("stage5_dilation", (self.stage5_dilation or 0) >= 1, "must be >= 1"),
            ("dropout", 0.0 <= (self.dropout if self.dropout is not None else -1) < 1, "in [0, 1)"),
            ("roi_resolution", (self.roi_resolution or 0) >= 1, "must be >= 1"),
            ("roi_scale_factor", (self.roi_scale_factor or 0) >= 1, "must be >= 1"),
            ("fc_init_std", (self.fc_init_std or 0) > 0, "must be > 0"),
        ]
        for key, ok, what in checks:
            if not ok:
                raise InputError(f"{what} (got {getattr(self, key)!r})", key=f"model.{key}")
        if self.width_per_group % self.beta_inv != 0:  # type: ignore[operator]
            raise InputError(
                f"width_per_group {self.width_per_group} is not divisible by beta_inv "
                f"{self.beta_inv}: the fast pathway would have fractional channels",
                key="model.width_per_group",
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for checkpoints: ``model_config``)."""
        return dataclasses.asdict(self)


def overrides_of(config: ModelConfig) -> dict[str, Any]:
    """The architecture fields a config sets explicitly (everything but ``name``)."""
    return {
        field.name: getattr(config, field.name)
        for field in dataclasses.fields(config)
        if field.name != "name" and getattr(config, field.name) is not None
    }
