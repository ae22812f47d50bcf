"""Import of PySlowFast checkpoints against the reference made with PySlowFast itself."""

from __future__ import annotations

import logging

import pytest
import torch
import yaml

from avaloc.cli.main import main as cli_main
from avaloc.errors import InputError
from avaloc.models import (
    config_from_pyslowfast_cfg,
    count_parameters,
    import_pyslowfast_checkpoint,
    load_model_checkpoint,
    load_pyslowfast_checkpoint,
    pyslowfast_to_avaloc_key,
)

TOLERANCE = 1e-4
REFERENCE_PARAMETERS = 557_125  # ../shared/specs/README.md


@pytest.fixture
def reference(specs_dir):
    folder = specs_dir / "pyslowfast-slowfast-r50-w8"
    data = torch.load(folder / "input_and_expected_output.pt", weights_only=True)
    return folder / "checkpoint.pyth", data


@pytest.fixture
def pyth(reference):
    return torch.load(reference[0], weights_only=True)


def _logits(model, data) -> torch.Tensor:
    with torch.no_grad():
        return model([data["slow"], data["fast"]], data["boxes"])


def test_reference_checkpoint_reproduces_pyslowfast_logits(reference):
    path, data = reference
    model = load_pyslowfast_checkpoint(path)
    assert not model.training
    assert count_parameters(model) == REFERENCE_PARAMETERS
    logits = _logits(model, data)
    max_diff = (logits - data["expected_logits"]).abs().max().item()
    assert max_diff <= TOLERANCE, max_diff
    assert (logits.sigmoid() - data["expected_probs"]).abs().max().item() <= TOLERANCE


def test_config_is_read_from_the_checkpoint_cfg(pyth):
    config = config_from_pyslowfast_cfg(pyth["cfg"])
    assert config.name == "slowfast_r50_w8_detection"
    assert (config.depth, config.width_per_group, config.alpha, config.beta_inv) == (50, 8, 4, 8)
    assert (config.fusion_kernel, config.fusion_channel_ratio) == (7, 2)
    assert (config.stage5_stride, config.stage5_dilation, config.head) == (1, 2, "roi")
    assert (config.roi_resolution, config.roi_scale_factor, config.roi_aligned) == (7, 16, True)
    assert config.num_classes == 80 and config.dropout == 0.5


def test_every_checkpoint_key_maps_to_a_parameter_of_the_same_shape(reference, pyth):
    model = load_pyslowfast_checkpoint(reference[0])
    state = model.state_dict()
    for key, tensor in pyth["model_state"].items():
        mapped = pyslowfast_to_avaloc_key(key)
        assert mapped in state, key
        assert torch.equal(state[mapped], tensor), key


def _edited(tmp_path, pyth, name="edited.pyth", **changes):
    checkpoint = dict(pyth) | changes
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


def test_missing_unexpected_and_misshaped_keys_are_reported(tmp_path, pyth):
    state = dict(pyth["model_state"])
    del state["s3.pathway1_res2.branch2.b.weight"]
    state["s9.pathway0_res0.branch2.a.weight"] = torch.zeros(1)
    state["s2_fuse.bn.weight"] = torch.zeros(3)
    with pytest.raises(InputError) as info:
        load_pyslowfast_checkpoint(_edited(tmp_path, pyth, model_state=state))
    message = str(info.value)
    assert "1 missing keys: backbone.stage3.fast.2.conv_b.weight" in message
    assert "1 unexpected keys: backbone.stage9.slow.0.conv_a.weight" in message
    assert "1 mis-shaped keys: backbone.fuse2.bn.weight [3] vs model [8]" in message
    assert "edited.pyth" in message


def test_unknown_names_are_unexpected(tmp_path, pyth):
    state = dict(pyth["model_state"]) | {"extra.layer.weight": torch.zeros(2)}
    with pytest.raises(InputError, match=r"unexpected keys: extra\.layer\.weight"):
        load_pyslowfast_checkpoint(_edited(tmp_path, pyth, model_state=state))


def test_head_of_another_size_is_skipped_with_a_message(reference, caplog):
    path, data = reference
    with caplog.at_level(logging.WARNING):
        model = load_pyslowfast_checkpoint(path, num_classes=10)
    assert "classification head not loaded" in caplog.text
    assert model.head.fc.out_features == 10
    reference_model = load_pyslowfast_checkpoint(path)
    inputs = [data["slow"][:1, :, :, :48, :64], data["fast"][:1, :, :, :48, :64]]
    boxes = torch.tensor([[0.0, 3.0, 5.0, 40.0, 44.0], [0.0, 30.0, 0.0, 64.0, 30.0]])
    with torch.no_grad():
        features = model.head.pool(model.backbone(inputs), boxes)
        expected = reference_model.head.pool(reference_model.backbone(inputs), boxes)
    torch.testing.assert_close(features, expected, rtol=0, atol=0)


def test_truncated_checkpoint(tmp_path, reference):
    data = reference[0].read_bytes()
    for size in (len(data) // 2, len(data) - 10, 100):
        path = tmp_path / f"cut{size}.pyth"
        path.write_bytes(data[:size])
        with pytest.raises(InputError, match="truncated or corrupt"):
            load_pyslowfast_checkpoint(path)


def test_files_that_are_not_checkpoints(tmp_path, pyth):
    text = tmp_path / "notes.pyth"
    text.write_text("model_state: none\n")
    with pytest.raises(InputError, match="not a PyTorch checkpoint"):
        load_pyslowfast_checkpoint(text)
    tensor = tmp_path / "tensor.pyth"
    torch.save(torch.zeros(2), tensor)
    with pytest.raises(InputError, match="must be a dict"):
        load_pyslowfast_checkpoint(tensor)
    other = tmp_path / "other.pyth"
    torch.save({"state_dict": pyth["model_state"]}, other)
    with pytest.raises(InputError, match="not a PySlowFast checkpoint"):
        load_pyslowfast_checkpoint(other)
    with pytest.raises(InputError, match="not found"):
        load_pyslowfast_checkpoint(tmp_path / "absent.pyth")
    no_cfg = tmp_path / "nocfg.pyth"
    torch.save({"model_state": pyth["model_state"]}, no_cfg)
    with pytest.raises(InputError, match="no 'cfg'"):
        load_pyslowfast_checkpoint(no_cfg)


class _Payload:
    """A class outside the weights-only allow-list: unpickling it must be refused."""


def test_arbitrary_objects_are_refused_not_unpickled(tmp_path, pyth):
    path = _edited(tmp_path, pyth, name="evil.pyth", extra=_Payload())
    with pytest.raises(InputError, match=r"refused to load.*_Payload"):
        load_pyslowfast_checkpoint(path)


def _cfg_with(pyth, dotted: str, value) -> str:
    cfg = yaml.safe_load(pyth["cfg"])
    node = cfg
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return yaml.safe_dump(cfg)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MODEL.ARCH", "i3d"),
        ("RESNET.STRIDE_1X1", True),
        ("RESNET.NUM_GROUPS", 32),
        ("NONLOCAL.LOCATION", [[[], []], [[1], [1]], [[], []], [[], []]]),
        ("RESNET.NUM_BLOCK_TEMP_KERNEL", [[3, 3], [4, 4], [2, 2], [3, 3]]),
    ],
)
def test_unsupported_cfg_names_the_key(pyth, key, value):
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        config_from_pyslowfast_cfg(_cfg_with(pyth, key, value))


def test_cfg_with_another_width_reports_every_misshaped_key(tmp_path, pyth):
    path = _edited(tmp_path, pyth, cfg=_cfg_with(pyth, "RESNET.WIDTH_PER_GROUP", 16))
    with pytest.raises(
        InputError, match=r"\d+ mis-shaped keys: backbone\.stem\.slow\.conv\.weight"
    ):
        load_pyslowfast_checkpoint(path)


def test_classification_cfg_builds_a_classification_model(tmp_path, pyth):
    cfg = yaml.safe_load(pyth["cfg"])
    cfg["DETECTION"]["ENABLE"] = False
    cfg["RESNET"]["SPATIAL_STRIDES"] = [[1, 1], [2, 2], [2, 2], [2, 2]]
    cfg["RESNET"]["SPATIAL_DILATIONS"] = [[1, 1]] * 4
    imported = import_pyslowfast_checkpoint(_edited(tmp_path, pyth, cfg=yaml.safe_dump(cfg)))
    assert imported.config.head == "classification"
    assert imported.config.name == "slowfast_r50_w8_classification"
    assert imported.model([torch.zeros(1, 3, 2, 64, 64), torch.zeros(1, 3, 8, 64, 64)]).shape == (
        1,
        80,
    )


def test_import_checkpoint_verb_round_trip(tmp_path, reference, capsys):
    path, data = reference
    output = tmp_path / "out" / "model.pt"
    assert cli_main(["import-checkpoint", str(path), str(output)]) == 0
    assert "557,125 parameters" in capsys.readouterr().out
    saved = torch.load(output, weights_only=True)
    assert set(saved) == {"model_state", "model_config", "source"}
    assert saved["model_config"]["width_per_group"] == 8
    assert saved["source"]["format"] == "pyslowfast"
    model = load_model_checkpoint(output).eval()
    max_diff = (_logits(model, data) - data["expected_logits"]).abs().max().item()
    assert max_diff <= TOLERANCE
    assert [p.name for p in output.parent.iterdir()] == ["model.pt"]  # no temporary left


def test_import_checkpoint_verb_fails_cleanly(tmp_path, reference, capsys):
    bad = tmp_path / "cut.pyth"
    bad.write_bytes(reference[0].read_bytes()[:1000])
    output = tmp_path / "model.pt"
    assert cli_main(["import-checkpoint", str(bad), str(output)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "truncated or corrupt" in err[0]
    assert not output.exists() and list(tmp_path.iterdir()) == [bad]


def test_key_mapping_rules():
    assert pyslowfast_to_avaloc_key("s1.pathway1_stem.bn.running_var") == (
        "backbone.stem.fast.bn.running_var"
    )
    assert pyslowfast_to_avaloc_key("s4_fuse.conv_f2s.weight") == "backbone.fuse4.conv.weight"
    assert pyslowfast_to_avaloc_key("s5.pathway0_res0.branch1_bn.bias") == (
        "backbone.stage5.slow.0.shortcut.bn.bias"
    )
    assert pyslowfast_to_avaloc_key("s4.pathway1_res22.branch2.c_bn.weight") == (
        "backbone.stage4.fast.22.bn_c.weight"
    )
    assert pyslowfast_to_avaloc_key("module.head.projection.weight") == "head.fc.weight"
    assert pyslowfast_to_avaloc_key("s2.pathway0_nonlocal0.conv_theta.weight") is None


def test_cfg_with_missing_or_mistyped_entries(pyth):
    cfg = yaml.safe_load(pyth["cfg"])
    del cfg["SLOWFAST"]["ALPHA"]
    with pytest.raises(InputError, match=r"key 'SLOWFAST\.ALPHA'.*lacks"):
        config_from_pyslowfast_cfg(yaml.safe_dump(cfg))
    with pytest.raises(InputError, match="wrong type"):
        config_from_pyslowfast_cfg(_cfg_with(pyth, "SLOWFAST.ALPHA", "four"))
    with pytest.raises(InputError, match="not valid YAML"):
        config_from_pyslowfast_cfg("MODEL: [unclosed")
