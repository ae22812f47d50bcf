"""Inference settings: fp32 in either layout is exact, bf16 stays close to the reference."""

from __future__ import annotations

import pytest
import torch

from avaloc.errors import InputError
from avaloc.models import ModelConfig, build_model, load_pyslowfast_checkpoint
from avaloc.models.inference import (
    InferenceSettings,
    choose_inference_settings,
    native_bf16_available,
    predict_logits,
    prepare_for_inference,
)


@pytest.fixture
def reference(specs_dir):
    folder = specs_dir / "pyslowfast-slowfast-r50-w8"
    data = torch.load(folder / "input_and_expected_output.pt", weights_only=True)
    return load_pyslowfast_checkpoint(folder / "checkpoint.pyth"), data


@pytest.mark.parametrize("channels_last", [False, True])
def test_fp32_matches_the_reference_in_both_layouts(reference, channels_last):
    model, data = reference
    settings = InferenceSettings(precision="fp32", channels_last=channels_last)
    model = prepare_for_inference(model, settings)
    logits = predict_logits(model, [data["slow"], data["fast"]], data["boxes"], settings=settings)
    assert (logits - data["expected_logits"]).abs().max().item() <= 1e-4


def test_bf16_stays_close_to_the_reference(reference):
    model, data = reference
    settings = InferenceSettings(precision="bf16", channels_last=True)
    inputs = [data["slow"], data["fast"]]
    logits = predict_logits(
        prepare_for_inference(model, settings), inputs, data["boxes"], settings=settings
    )
    assert logits.dtype == torch.float32
    assert (logits.sigmoid() - data["expected_probs"]).abs().max().item() <= 0.02
    top = data["expected_logits"].topk(3, dim=1).indices
    assert torch.equal(logits.topk(3, dim=1).indices.sort(1).values, top.sort(1).values)


def test_automatic_choice_follows_the_measurements(reference):
    slim = reference[0]
    assert choose_inference_settings(slim) == InferenceSettings("fp32", channels_last=False)
    wide = build_model(ModelConfig(name="slowfast_r50_detection"))
    expected = "bf16" if native_bf16_available() else "fp32"
    assert choose_inference_settings(wide) == InferenceSettings(expected, channels_last=True)
    assert choose_inference_settings(wide, "fp32").precision == "fp32"
    with pytest.raises(InputError, match="precision"):
        choose_inference_settings(wide, "fp8")
