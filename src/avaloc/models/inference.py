"""CPU inference settings chosen by measurement (``benchmarks/bench_models.py``, docs/models.md).

On the development CPU (2 cores, AVX-512 with native bf16), full-width SlowFast R50 + RoI head:
``channels_last_3d`` alone 1.0-1.1x (exact: logits move by ~1e-7), bf16 autocast 1.9-2.3x, both
2.5-3.4x. The slim ``w8`` models are too small to gain: 1.0-1.35x at 224 pixels and 0.5-0.9x
(slower) at 64-128 pixels. bf16 moves the reference checkpoint's logits by up to 0.013
(probabilities by 0.003, same top classes), so ``precision="fp32"`` is the choice for exact
comparisons with PySlowFast.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from avaloc.errors import InputError
from avaloc.models.slowfast import SlowFast

PRECISIONS = ("auto", "fp32", "bf16")
#: Narrower models than this run fastest in plain fp32 (measured: w8 gains nothing).
MIN_WIDTH_FOR_BF16 = 64


@dataclass(frozen=True)
class InferenceSettings:
    """How to run a model for prediction: autocast precision and memory format."""

    precision: str  # "fp32" or "bf16"
    channels_last: bool


def native_bf16_available() -> bool:
    """Whether this CPU runs bf16 convolutions natively (AVX-512 BF16 / AMX) via oneDNN."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def choose_inference_settings(model: SlowFast, precision: str = "auto") -> InferenceSettings:
    """``auto``: bf16 + channels_last_3d for full-width models on CPUs with native bf16 (the
    measured 2.5-3.4x), plain fp32 otherwise. ``fp32``/``bf16`` force the precision; the memory
    format then follows the model's width."""
    if precision not in PRECISIONS:
        raise InputError(
            f"must be one of {', '.join(PRECISIONS)}, got {precision!r}", key="precision"
        )
    wide = (model.config.width_per_group or 0) >= MIN_WIDTH_FOR_BF16
    if precision == "auto":
        precision = "bf16" if wide and native_bf16_available() else "fp32"
    return InferenceSettings(precision=precision, channels_last=wide)


def prepare_for_inference(model: SlowFast, settings: InferenceSettings) -> SlowFast:
    """The model in eval mode, in the memory format ``settings`` asks for."""
    layout = torch.channels_last_3d if settings.channels_last else torch.contiguous_format
    return model.eval().to(memory_format=layout)


def predict_logits(
    model: SlowFast,
    inputs: Sequence[torch.Tensor],
    boxes: torch.Tensor | None = None,
    *,
    settings: InferenceSettings,
) -> torch.Tensor:
    """fp32 logits of ``model([slow, fast], boxes)`` without gradients, run as ``settings``
    say (call :func:`prepare_for_inference` once first)."""
    if settings.channels_last:
        inputs = [x.contiguous(memory_format=torch.channels_last_3d) for x in inputs]
    autocast = (
        torch.autocast(inputs[0].device.type, dtype=torch.bfloat16)
        if settings.precision == "bf16"
        else nullcontext()
    )
    with torch.no_grad(), autocast:
        logits = model(inputs) if boxes is None else model(inputs, boxes)
    return logits.float()
