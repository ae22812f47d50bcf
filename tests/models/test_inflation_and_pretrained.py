"""2D ResNet inflation, pre-training transfer, class adaptation, avaloc checkpoint round trip."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
import torchvision

from avaloc.errors import InputError
from avaloc.models import (
    ModelConfig,
    adapt_checkpoint_classes,
    build_model,
    load_model_checkpoint,
    model_from_checkpoint,
    replace_classifier,
    save_model_checkpoint,
)
from avaloc.models.inflate import inflate_resnet2d
from avaloc.models.pretrained import load_pretrained
from avaloc.seeding import torch_generator

W8_DETECTION = ModelConfig(name="slowfast_r50_w8_detection")
W8_CLASSIFICATION = ModelConfig(name="slowfast_r50_w8_classification", num_classes=400)


@pytest.fixture(scope="module")
def resnet50_file(tmp_path_factory):
    """A randomly initialised torchvision ResNet-50 with non-trivial BN statistics, on disk."""
    torch.manual_seed(0)  # test-only: torchvision's constructor draws from the global RNG
    resnet = torchvision.models.resnet50(weights=None)
    generator = torch_generator(5)
    for module in resnet.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.weight.data = 0.5 + torch.rand(n, generator=generator)
            module.bias.data = 0.1 * torch.randn(n, generator=generator)
            module.running_mean = 0.1 * torch.randn(n, generator=generator)
            module.running_var = 0.5 + torch.rand(n, generator=generator)
    path = tmp_path_factory.mktemp("resnet") / "resnet50.pth"
    torch.save(resnet.state_dict(), path)
    return path, resnet.eval()


def _slow_pathway(model, clip: torch.Tensor, stages: int) -> torch.Tensor:
    """The slow pathway alone, with zeros on the lateral channels (whose weights are zero)."""
    backbone = model.backbone
    x = backbone.stem["slow"](clip)
    for index, stage in enumerate((2, 3, 4, 5)[:stages]):
        lateral = getattr(backbone, f"fuse{stage - 1}").conv.out_channels
        x = torch.cat([x, x.new_zeros(x.shape[0], lateral, *x.shape[2:])], dim=1)
        x = getattr(backbone, f"stage{stage}")["slow"](x)
        del index
    return x


def test_inflated_slow_pathway_equals_the_2d_resnet_on_a_static_clip(resnet50_file):
    path, resnet = resnet50_file
    model = build_model(ModelConfig(name="slowfast_r50_detection")).eval()
    report = inflate_resnet2d(model, path)
    assert report.slow > 0 and report.fast > 0
    # In float64 the only error left is the float32 rounding of W / 3 (about 4e-6 here), while
    # a frame reached by the temporal zero padding is off by 1e-2 or more.
    model, resnet = model.double(), copy.deepcopy(resnet).double()
    image = torch.randn(1, 3, 64, 64, generator=torch_generator(6), dtype=torch.float64)
    frames = 13  # stage 4's six t=3 convs leave the centre frame clear of the zero padding
    clip = image.unsqueeze(2).repeat(1, 1, frames, 1, 1)
    with torch.no_grad():
        expected2 = resnet.layer2(
            resnet.layer1(resnet.maxpool(resnet.relu(resnet.bn1(resnet.conv1(image)))))
        )
        expected3 = resnet.layer3(expected2)
        stage3 = _slow_pathway(model, clip, stages=2)
        stage4 = _slow_pathway(model, clip, stages=3)
    for t in (0, frames // 2, frames - 1):  # stages 2-3 have no temporal kernel in the slow path
        torch.testing.assert_close(stage3[:, :, t], expected2, atol=1e-9, rtol=0)
    torch.testing.assert_close(stage4[:, :, frames // 2], expected3, atol=1e-4, rtol=0)
    assert not torch.allclose(stage4[:, :, frames // 2 - 1], expected3, atol=1e-3)


def test_inflation_rules_for_kernels_laterals_and_the_fast_pathway(resnet50_file):
    path, resnet = resnet50_file
    model = build_model(ModelConfig(name="slowfast_r50_detection"))
    before = model.state_dict()["backbone.fuse1.conv.weight"].clone()
    inflate_resnet2d(model, path)
    state, state_2d = model.state_dict(), resnet.state_dict()
    conv_a = state["backbone.stage4.slow.0.conv_a.weight"]  # (256, 512 + 128, 3, 1, 1)
    torch.testing.assert_close(conv_a[:, :512].sum(dim=2), state_2d["layer3.0.conv1.weight"])
    assert torch.equal(conv_a[:, :512, 0], conv_a[:, :512, 2])
    assert conv_a[:, 512:].abs().sum() == 0
    fast_stem = state["backbone.stem.fast.conv.weight"]  # (8, 3, 5, 7, 7)
    torch.testing.assert_close(fast_stem[:, :, 2] * 5, state_2d["conv1.weight"][:8])
    fast_conv = state["backbone.stage3.fast.1.conv_b.weight"]  # (16, 16, 1, 3, 3)
    torch.testing.assert_close(fast_conv[:, :, 0], state_2d["layer2.1.conv2.weight"][:16, :16])
    assert torch.equal(state["backbone.stage3.fast.1.bn_b.running_var"], torch.ones(16))
    assert torch.equal(
        state["backbone.stage3.slow.1.bn_b.running_var"], state_2d["layer2.1.bn2.running_var"]
    )
    assert torch.equal(state["backbone.fuse1.conv.weight"], before)


def test_inflation_can_keep_the_fast_pathway(resnet50_file):
    model = build_model(ModelConfig(name="slowfast_r50_detection"), generator=torch_generator(1))
    fast_before = model.state_dict()["backbone.stem.fast.conv.weight"].clone()
    report = inflate_resnet2d(model, resnet50_file[0], fast_pathway="keep")
    assert report.fast == 0
    assert torch.equal(model.state_dict()["backbone.stem.fast.conv.weight"], fast_before)


def test_inflation_rejects_mismatched_networks(tmp_path, resnet50_file):
    with pytest.raises(InputError, match="width_per_group 8"):
        inflate_resnet2d(build_model(W8_DETECTION), resnet50_file[0])
    with pytest.raises(InputError, match=r"\(3, 4, 23, 3\)"):
        inflate_resnet2d(build_model(ModelConfig(name="slowfast_r101_detection")), resnet50_file[0])
    other = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, other)
    with pytest.raises(InputError, match="not a torchvision ResNet"):
        inflate_resnet2d(build_model(ModelConfig(name="slowfast_r50_detection")), other)


def test_checkpoint_round_trip_preserves_weights_config_and_outputs(tmp_path):
    model = build_model(W8_DETECTION, generator=torch_generator(7)).eval()
    for module in model.modules():  # non-trivial BN statistics, so that buffers matter too
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.normal_(generator=torch_generator(8))
    path = save_model_checkpoint(tmp_path / "m.pt", model, source={"format": "test"})
    loaded = load_model_checkpoint(path).eval()
    assert loaded.config == model.config
    for key, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    inputs = [torch.randn(1, 3, 2, 32, 32), torch.randn(1, 3, 8, 32, 32)]
    boxes = torch.tensor([[0.0, 1, 2, 30, 31]])
    with torch.no_grad():
        assert torch.equal(model(inputs, boxes), loaded(inputs, boxes))


def test_bad_avaloc_checkpoints(tmp_path):
    model = build_model(W8_DETECTION)
    checkpoint = {"model_state": model.state_dict(), "model_config": model.config.to_dict()}
    with pytest.raises(InputError, match="unknown key"):
        model_from_checkpoint(checkpoint | {"model_config": {"nmae": "x"}})
    with pytest.raises(InputError, match="no 'model_config'"):
        model_from_checkpoint({"model_state": model.state_dict()})
    with pytest.raises(InputError, match="not a dict of named tensors"):
        model_from_checkpoint(checkpoint | {"model_state": {"head.fc.bias": [0.0]}})
    state = dict(model.state_dict())
    state.pop("head.fc.bias")
    with pytest.raises(InputError, match=r"missing keys: head\.fc\.bias"):
        model_from_checkpoint(checkpoint | {"model_state": state})


def test_classification_pretraining_initialises_a_detection_model(tmp_path, caplog):
    pretrained = build_model(W8_CLASSIFICATION, generator=torch_generator(9))
    path = save_model_checkpoint(tmp_path / "kinetics.pt", pretrained)
    detector = build_model(W8_DETECTION, generator=torch_generator(10))
    head_before = detector.head.fc.weight.clone()
    with caplog.at_level(logging.WARNING):
        report = load_pretrained(detector, path)
    assert "classification head, the model a roi head" in caplog.text
    assert report.skipped_head == ["head.fc.bias", "head.fc.weight"]
    assert torch.equal(detector.head.fc.weight, head_before)
    for key, tensor in pretrained.backbone.state_dict().items():
        assert torch.equal(detector.backbone.state_dict()[key], tensor), key


def test_pretrained_head_is_kept_when_it_fits(tmp_path):
    source = build_model(W8_DETECTION, generator=torch_generator(11))
    path = save_model_checkpoint(tmp_path / "ava.pt", source)
    target = build_model(W8_DETECTION, generator=torch_generator(12))
    assert load_pretrained(target, path).skipped_head == []
    assert torch.equal(target.head.fc.weight, source.head.fc.weight)


def test_pretrained_pyslowfast_checkpoint_into_a_model_with_other_classes(specs_dir):
    target = build_model(ModelConfig(name="slowfast_r50_w8_detection", num_classes=6))
    report = load_pretrained(target, specs_dir / "pyslowfast-slowfast-r50-w8" / "checkpoint.pyth")
    assert "80 classes in the checkpoint, 6 in the model" in report.reason
    assert report.loaded == 660


def test_adapting_the_number_of_classes(tmp_path):
    model = build_model(W8_DETECTION, generator=torch_generator(13))
    checkpoint = {
        "model_state": model.state_dict(),
        "model_config": model.config.to_dict(),
        "epoch": 3,
    }
    adapted = adapt_checkpoint_classes(checkpoint, 5, generator=torch_generator(14))
    assert adapted["epoch"] == 3 and adapted["model_config"]["num_classes"] == 5
    rebuilt = model_from_checkpoint(adapted)
    assert rebuilt.head.fc.weight.shape == (5, 288)
    assert rebuilt.head.fc.bias.abs().sum() == 0
    key = "backbone.stage4.fast.2.conv_a.weight"
    assert torch.equal(rebuilt.state_dict()[key], model.state_dict()[key])
    replace_classifier(model, 3)
    assert model.config.num_classes == 3 and model.head.fc.out_features == 3
    with pytest.raises(InputError, match="num_classes"):
        replace_classifier(model, 0)
