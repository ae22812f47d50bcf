"""Fast CPU inference settings, chosen by measurement (``benchmarks/bench_models.py``).

On the development CPU (AVX-512 with native bf16), for full-size SlowFast R50 + RoI head:
``channels_last_3d`` alone is worth 1.0-1.1x and is exact (logits move by ~1e-7); bf16 autocast
is 1.9-2.3x; both together 2.5-3.4x. bf16 moves the reference checkpoint's logits by up to
0.013 (probabilities by 0.003, top-5 classes unchanged), so ``precision="fp32"`` remains the
choice for exact comparisons with PySlowFast.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import torch
from torch import nn

from avaloc.errors import InputError

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16_available() -> bool:
    """Whether this CPU runs bf16 convolutions natively (AVX-512 BF16 / AMX) via oneDNN."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str = "auto") -> str:
    """``"fp32"`` or ``"bf16"``: ``auto`` is bf16 where the CPU has native bf16, else fp32."""
    if precision not in PRECISIONS:
        raise InputError(
            f"must be one of {', '.join(PRECISIONS)}, got {precision!r}", key="precision"
        )
    if precision == "auto":
        return "bf16" if native_bf16_available() else "fp32"
    return precision


def prepare_for_inference(model: nn.Module) -> nn.Module:
    """The model in eval mode with ``channels_last_3d`` weights (exact, and faster on CPU)."""
    return model.eval().to(memory_format=torch.channels_last_3d)


def predict_logits(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    boxes: torch.Tensor | None = None,
    *,
    precision: str = "auto",
) -> torch.Tensor:
    """fp32 logits of ``model([slow, fast], boxes)`` without gradients, in the fast layout and
    precision (see the module docstring); call :func:`prepare_for_inference` once first."""
    clips = [x.contiguous(memory_format=torch.channels_last_3d) for x in inputs]
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if resolve_precision(precision) == "bf16"
        else nullcontext()
    )
    with torch.no_grad(), autocast:
        logits = model(clips) if boxes is None else model(clips, boxes)
    return logits.float()
