"""The SlowFast network: sizes against PySlowFast's spec, shapes, RoI pooling, gradients."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from avaloc.errors import InputError
from avaloc.models import (
    ModelConfig,
    SlowFast,
    build_model,
    count_parameters,
    list_models,
    pyslowfast_to_avaloc_key,
    resolve_config,
    slowfast_r50_detection,
    slowfast_r101_detection,
)
from avaloc.models.slowfast import RoIHead
from avaloc.seeding import torch_generator

SPEC_ENTRIES = 662
SPEC_PARAMETERS = 33_828_888  # from ../shared/specs/README.md (PySlowFast's own count)


def read_spec(specs_dir) -> dict[str, tuple[int, ...]]:
    spec = {}
    for line in (
        (specs_dir / "pyslowfast_slowfast_32x2_r50_ava_state_dict.tsv").read_text().splitlines()
    ):
        name, shape = line.split("\t")
        spec[name] = tuple(int(d) for d in shape.strip("()").split(",") if d.strip())
    return spec


def test_full_r50_matches_pyslowfast_spec(specs_dir):
    spec = read_spec(specs_dir)
    assert len(spec) == SPEC_ENTRIES
    model = slowfast_r50_detection(num_classes=80)
    state = model.state_dict()
    assert count_parameters(model) == SPEC_PARAMETERS
    mapped = {pyslowfast_to_avaloc_key(name): shape for name, shape in spec.items()}
    assert None not in mapped
    assert len(mapped) == SPEC_ENTRIES  # the mapping is one-to-one
    assert set(mapped) == set(state)
    for key, shape in mapped.items():
        assert tuple(state[key].shape) == shape, key
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    trainable = sum(math.prod(shape) for name, shape in spec.items() if not name.endswith(buffers))
    assert trainable == SPEC_PARAMETERS


def _bottleneck_params(dim: int, inner: int, temporal: int) -> int:
    """Parameters of an identity bottleneck: three convs and three BNs (weight + bias)."""
    return dim * inner * temporal + inner * inner * 9 + inner * dim + 2 * (2 * inner + dim)


def test_r101_adds_seventeen_stage4_blocks_per_pathway():
    slow = _bottleneck_params(1024, 256, 3)
    fast = _bottleneck_params(128, 32, 3)
    assert count_parameters(slowfast_r101_detection()) == SPEC_PARAMETERS + 17 * (slow + fast)


def test_stage5_dilation_keeps_stride_16_for_detection_and_32_for_classification():
    x = [torch.zeros(1, 3, 2, 64, 96), torch.zeros(1, 3, 8, 64, 96)]
    for name, stride in (("slowfast_r50_w8_detection", 16), ("slowfast_r50_w8_classification", 32)):
        model = build_model(ModelConfig(name=name)).eval()
        with torch.no_grad():
            slow, fast = model.backbone(x)
        assert slow.shape == (1, 256, 2, 64 // stride, 96 // stride)
        assert fast.shape == (1, 32, 8, 64 // stride, 96 // stride)


INPUTS = [(5, 20, 32, 48), (8, 32, 32, 32), (2, 8, 33, 47)]


@pytest.mark.parametrize("name", [n for n in list_models() if "_w8_" in n])
@pytest.mark.parametrize(("slow_t", "fast_t", "height", "width"), INPUTS)
def test_output_shapes_for_every_slim_variant(name, slow_t, fast_t, height, width):
    model = build_model(ModelConfig(name=name, num_classes=7), generator=torch_generator(0)).eval()
    inputs = [torch.randn(2, 3, slow_t, height, width), torch.randn(2, 3, fast_t, height, width)]
    with torch.no_grad():
        if model.is_detection:
            for k in (0, 1, 3):
                boxes = torch.tensor(
                    [[i % 2, 2.0, 3.0, width - 5.0, height - 1.0] for i in range(k)]
                )
                out = model(inputs, boxes.reshape(k, 5))
                assert out.shape == (k, 7)
                assert torch.isfinite(out).all()
        else:
            out = model(inputs)
            assert out.shape == (2, 7)
            assert torch.isfinite(out).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in list_models() if "_w8_" not in n])
def test_full_size_variants_run_on_a_small_input(name):
    model = build_model(ModelConfig(name=name, num_classes=5)).eval()
    inputs = [torch.randn(1, 3, 2, 32, 32), torch.randn(1, 3, 8, 32, 32)]
    with torch.no_grad():
        if model.is_detection:
            out = model(inputs, torch.tensor([[0.0, 0, 0, 31, 31], [0, 4, 4, 20, 28]]))
            assert out.shape == (2, 5)
        else:
            assert model(inputs).shape == (1, 5)


def test_bad_inputs_raise_input_errors():
    model = build_model(ModelConfig(name="slowfast_r50_w8_detection")).eval()
    slow, fast = torch.zeros(1, 3, 2, 32, 32), torch.zeros(1, 3, 8, 32, 32)
    with pytest.raises(InputError, match=r"\(K, 5\)"):
        model([slow, fast], torch.zeros(3, 4))
    with pytest.raises(InputError, match=r"\(K, 5\)"):
        model([slow, fast])
    with pytest.raises(InputError, match="alpha x"):
        model([slow, torch.zeros(1, 3, 4, 32, 32)], torch.zeros(0, 5))
    with pytest.raises(InputError, match="frame size"):
        model([slow, torch.zeros(1, 3, 8, 32, 40)], torch.zeros(0, 5))
    with pytest.raises(InputError, match="two"):
        model([slow], torch.zeros(0, 5))


def test_config_errors_name_the_key():
    with pytest.raises(InputError, match=r"model\.name"):
        build_model(ModelConfig(name="resnet9000"))
    with pytest.raises(InputError, match=r"model\.depth"):
        build_model(ModelConfig(depth=34))
    with pytest.raises(InputError, match=r"model\.width_per_group"):
        build_model(ModelConfig(width_per_group=12))  # not divisible by beta_inv 8


def test_build_model_is_deterministic_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = build_model(ModelConfig(name="slowfast_r50_w8_detection"), generator=torch_generator(3))
    assert torch.equal(state, torch.random.get_rng_state())
    b = build_model(ModelConfig(name="slowfast_r50_w8_detection"), generator=torch_generator(3))
    c = build_model(ModelConfig(name="slowfast_r50_w8_detection"), generator=torch_generator(4))
    key = "backbone.stage3.slow.0.conv_b.weight"
    assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    assert not torch.equal(a.state_dict()[key], c.state_dict()[key])
    # PySlowFast's init: He fan-out convs, zero final BN per block, std 0.01 linear layer.
    assert a.backbone.stage3.slow[0].bn_c.weight.abs().sum() == 0
    assert a.backbone.stage3.slow[0].bn_b.weight.eq(1).all()
    fan_out = a.state_dict()[key].shape[0] * 9
    assert a.state_dict()[key].std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.05)
    assert a.head.fc.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert a.head.fc.bias.abs().sum() == 0


def _head(resolution: int = 7, aligned: bool = True) -> RoIHead:
    return RoIHead(
        [1], num_classes=1, resolution=resolution, scale_factor=16, aligned=aligned, dropout=0.0
    )


def test_roi_pooling_of_a_linear_ramp_matches_the_closed_form():
    # On f(y, x) = x, bilinear sampling is exact, so a bin's average is the value at its centre,
    # and the max over the 7 bins is the centre of the right-most bin. With aligned=True a pixel
    # coordinate X maps to X / 16 - 0.5 on the feature grid.
    height, width = 12, 20
    ramp = torch.arange(width, dtype=torch.float32).expand(height, width)
    features = torch.zeros(2, 1, 3, height, width)
    features[1, 0] = ramp  # only image 1 has the ramp, at every time step
    boxes = torch.tensor(
        [
            [1.0, 40.0, 30.0, 200.0, 150.0],
            [1.0, 100.0, 16.0, 120.0, 90.0],
            [0.0, 40.0, 30.0, 200.0, 150.0],
        ]
    )
    pooled = _head().pool([features], boxes)
    x1, x2 = boxes[:2, 1] / 16 - 0.5, boxes[:2, 3] / 16 - 0.5
    expected = x2 - (x2 - x1) / 14
    torch.testing.assert_close(pooled[:2, 0], expected, atol=1e-5, rtol=0)
    assert pooled[2, 0] == 0  # batch index 0 points at the all-zero image
    # bf16 features (as under autocast; this ramp is exact in bf16) must not round the boxes.
    boxes[:2, 3] = torch.tensor([200.3, 121.7])
    x2 = boxes[:2, 3] / 16 - 0.5
    pooled = _head().pool([features.to(torch.bfloat16)], boxes)
    torch.testing.assert_close(pooled[:2, 0], x2 - (x2 - x1) / 14, atol=1e-5, rtol=0)


def test_roi_pooling_averages_over_time_and_finds_a_peak_only_inside_the_box():
    features = torch.zeros(1, 1, 4, 10, 10)
    features[0, 0, 1, 6, 3] = 8.0  # one hot cell at row 6, column 3 in one of four frames
    inside = torch.tensor([[0.0, 16 * 2, 16 * 5, 16 * 5, 16 * 8]])  # cells 2..5 x 5..8
    outside = torch.tensor([[0.0, 16 * 6, 16 * 0, 16 * 9, 16 * 3]])
    peak = _head().pool([features], inside)[0, 0]
    assert 0 < peak <= 8.0 / 4  # time-averaged, then at most the cell's value
    assert _head().pool([features], outside)[0, 0] == 0
    # At resolution 1 a 16-pixel box around cell (6, 3)'s centre samples exactly that cell:
    # pixels 48..64 map to 2.5..3.5 on the grid (aligned=True), whose centre is column 3.
    exact = torch.tensor([[0.0, 48.0, 96.0, 64.0, 112.0]])
    assert _head(resolution=1).pool([features], exact)[0, 0].item() == pytest.approx(2.0)
    legacy = _head(resolution=1, aligned=False).pool([features], exact)[0, 0].item()
    assert legacy == pytest.approx(0.5)  # unshifted, it samples (6.5, 3.5): a quarter of it


def test_gradients_reach_both_pathways_and_every_lateral_connection():
    model = build_model(
        ModelConfig(name="slowfast_r50_w8_detection", zero_init_final_bn=False),
        generator=torch_generator(1),
    ).train()
    inputs = [torch.randn(2, 3, 2, 32, 48), torch.randn(2, 3, 8, 32, 48)]
    boxes = torch.tensor([[0.0, 4, 4, 40, 28], [1.0, 10, 2, 44, 30]])
    model(inputs, boxes).pow(2).mean().backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert silent == []
    for name in ("stem.slow", "stem.fast", "fuse1", "fuse2", "fuse3", "fuse4", "stage5.fast"):
        module = model.backbone.get_submodule(name)
        assert all(p.grad.abs().sum() > 0 for p in module.parameters()), name


def test_gradients_reach_stems_and_laterals_with_zero_initialised_final_bn():
    model = build_model(
        ModelConfig(name="slowfast_r50_w8_detection"), generator=torch_generator(2)
    ).train()
    inputs = [torch.randn(2, 3, 2, 32, 48), torch.randn(2, 3, 8, 32, 48)]
    model(inputs, torch.tensor([[0.0, 4, 4, 40, 28], [1.0, 10, 2, 44, 30]])).sum().backward()
    for name in (
        "stem.slow.conv",
        "stem.fast.conv",
        "fuse1.conv",
        "fuse2.conv",
        "fuse3.conv",
        "fuse4.conv",
    ):
        assert model.backbone.get_submodule(name).weight.grad.abs().sum() > 0, name


def test_flops_match_the_published_slowfast_4x16_r50_figure():
    # SlowFast paper (Kinetics-400): SlowFast 4x16, R50 costs 36.1 GFLOPs (multiply-adds) per
    # 256x256 clip of 4 slow / 32 fast frames (alpha 8). Counted on the meta device: no compute.
    config = resolve_config(
        ModelConfig(name="slowfast_r50_classification", num_classes=400, alpha=8)
    )
    with torch.device("meta"):
        model = SlowFast(config).eval()
        inputs = [torch.zeros(1, 3, 4, 256, 256), torch.zeros(1, 3, 32, 256, 256)]
        with FlopCounterMode(display=False) as counter:
            model(inputs)
    multiply_adds = counter.get_total_flops() / 2
    assert multiply_adds / 1e9 == pytest.approx(36.1, rel=0.01)
