"""Inference helpers: the fast layout is exact, bf16 stays close to the PySlowFast reference."""

from __future__ import annotations

import pytest
import torch

from avaloc.errors import InputError
from avaloc.models import load_pyslowfast_checkpoint
from avaloc.models.inference import predict_logits, prepare_for_inference, resolve_precision


@pytest.fixture
def reference(specs_dir):
    folder = specs_dir / "pyslowfast-slowfast-r50-w8"
    data = torch.load(folder / "input_and_expected_output.pt", weights_only=True)
    return load_pyslowfast_checkpoint(folder / "checkpoint.pyth"), data


def test_channels_last_fp32_matches_the_reference(reference):
    model, data = reference
    model = prepare_for_inference(model)
    logits = predict_logits(model, [data["slow"], data["fast"]], data["boxes"], precision="fp32")
    assert (logits - data["expected_logits"]).abs().max().item() <= 1e-4


def test_bf16_stays_close_to_the_reference(reference):
    model, data = reference
    logits = predict_logits(
        prepare_for_inference(model), [data["slow"], data["fast"]], data["boxes"], precision="bf16"
    )
    assert logits.dtype == torch.float32
    assert (logits.sigmoid() - data["expected_probs"]).abs().max().item() <= 0.02
    top = data["expected_logits"].topk(3, dim=1).indices
    assert torch.equal(logits.topk(3, dim=1).indices.sort(1).values, top.sort(1).values)


def test_precision_names():
    assert resolve_precision("fp32") == "fp32"
    assert resolve_precision("auto") in ("fp32", "bf16")
    with pytest.raises(InputError, match="precision"):
        resolve_precision("fp8")
