"""Registered model variants, factory functions, and ``build_model(config)``.

A variant is a name plus the architecture values it fixes; :func:`build_model` fills the ``None``
fields of a :class:`ModelConfig` from its variant, validates the result, and builds the network.
Tests are parametrized over :func:`list_models`, so a new variant is tested automatically.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from avaloc.errors import InputError
from avaloc.models.config import ModelConfig, overrides_of
from avaloc.models.slowfast import SlowFast, init_weights

# PySlowFast's configs/AVA/SLOWFAST_32x2_R50_SHORT.yaml (detection) and the Kinetics SlowFast
# recipe it is pre-trained with (classification: stage 5 keeps stride 2, no dilation).
_DETECTION = {
    "head": "roi",
    "depth": 50,
    "width_per_group": 64,
    "alpha": 4,
    "beta_inv": 8,
    "fusion_channel_ratio": 2,
    "fusion_kernel": 7,
    "stage5_stride": 1,
    "stage5_dilation": 2,
    "dropout": 0.5,
    "roi_resolution": 7,
    "roi_scale_factor": 16,
    "roi_aligned": True,
    "fc_init_std": 0.01,
    "zero_init_final_bn": True,
}
_CLASSIFICATION = _DETECTION | {"head": "classification", "stage5_stride": 2, "stage5_dilation": 1}

_VARIANTS: dict[str, dict[str, Any]] = {
    "slowfast_r50_detection": _DETECTION,
    "slowfast_r101_detection": _DETECTION | {"depth": 101},
    "slowfast_r50_classification": _CLASSIFICATION,
    "slowfast_r101_classification": _CLASSIFICATION | {"depth": 101},
    # Same architecture at 1/8 of the width (557k parameters): for CPU runs, tests, quickstart.
    "slowfast_r50_w8_detection": _DETECTION | {"width_per_group": 8},
    "slowfast_r50_w8_classification": _CLASSIFICATION | {"width_per_group": 8},
}

_DESCRIPTIONS = {
    "slowfast_r50_detection": "SlowFast 4x16 R50 + RoI head (PySlowFast AVA SLOWFAST_32x2_R50)",
    "slowfast_r101_detection": "SlowFast R101 + RoI head",
    "slowfast_r50_classification": "SlowFast R50 + global-pool head (Kinetics pre-training)",
    "slowfast_r101_classification": "SlowFast R101 + global-pool head",
    "slowfast_r50_w8_detection": "SlowFast R50 at width 8 (1/8) + RoI head, for CPU",
    "slowfast_r50_w8_classification": "SlowFast R50 at width 8 (1/8) + global-pool head, for CPU",
}


def list_models() -> list[str]:
    """Names of the registered variants, usable as ``ModelConfig.name``."""
    return sorted(_VARIANTS)


def describe_model(name: str) -> str:
    """One line saying what a registered variant is."""
    _variant(name)
    return _DESCRIPTIONS[name]


def _variant(name: str) -> dict[str, Any]:
    if name not in _VARIANTS:
        raise InputError(
            f"unknown model '{name}' (registered: {', '.join(list_models())})", key="model.name"
        )
    return _VARIANTS[name]


def resolve_config(config: ModelConfig) -> ModelConfig:
    """The config with every ``None`` replaced by its variant's value, validated."""
    resolved = dataclasses.replace(config, **(_variant(config.name) | overrides_of(config)))
    resolved.validate()
    return resolved


def build_model(config: ModelConfig, *, generator: torch.Generator | None = None) -> SlowFast:
    """Build and initialise the network a config describes (PySlowFast's initialisation).

    The modules are created on the meta device and initialised from ``generator`` alone, so
    building a model neither uses nor changes the global RNG.
    """
    resolved = resolve_config(config)
    with torch.device("meta"):
        model = SlowFast(resolved)
    model.to_empty(device="cpu")
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
    init_weights(
        model,
        fc_init_std=resolved.fc_init_std,  # type: ignore[arg-type]
        zero_init_final_bn=bool(resolved.zero_init_final_bn),
        generator=generator,
    )
    return model


def _factory(name: str, num_classes: int, overrides: dict[str, Any]) -> SlowFast:
    generator = overrides.pop("generator", None)
    return build_model(
        ModelConfig(name=name, num_classes=num_classes, **overrides), generator=generator
    )


def slowfast_r50_detection(num_classes: int = 80, **overrides: Any) -> SlowFast:
    """SlowFast R50 with the RoI head of PySlowFast's AVA model (``overrides``: ModelConfig
    fields, or ``generator`` for the initialisation)."""
    return _factory("slowfast_r50_detection", num_classes, overrides)


def slowfast_r101_detection(num_classes: int = 80, **overrides: Any) -> SlowFast:
    """SlowFast R101 with the RoI head."""
    return _factory("slowfast_r101_detection", num_classes, overrides)


def slowfast_r50_classification(num_classes: int = 400, **overrides: Any) -> SlowFast:
    """SlowFast R50 with a global-average-pool head (Kinetics-style clip classification)."""
    return _factory("slowfast_r50_classification", num_classes, overrides)


def slowfast_r101_classification(num_classes: int = 400, **overrides: Any) -> SlowFast:
    """SlowFast R101 with a global-average-pool head."""
    return _factory("slowfast_r101_classification", num_classes, overrides)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable and frozen parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
