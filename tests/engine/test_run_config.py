"""RunConfig loading: YAML + key=value overrides, one-line errors naming the key."""

from __future__ import annotations

import pytest

from avaloc.engine import RunConfig, load_run_config, run_config_from_dict, run_config_to_dict
from avaloc.errors import InputError


def write(tmp_path, text: str):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_yaml_then_overrides(tmp_path):
    path = write(tmp_path, "optim:\n  base_lr: 0.05\n  max_epoch: 3\ntrain:\n  batch_size: 4\n")
    config = load_run_config(path, ["train.batch_size=2", "optim.steps=[0,1]", "optim.lrs=[1,0.1]"])
    assert isinstance(config, RunConfig)
    assert config.optim.base_lr == 0.05
    assert config.optim.max_epoch == 3
    assert config.train.batch_size == 2
    assert config.optim.steps == [0.0, 1.0]


@pytest.mark.parametrize(
    ("text", "overrides", "expected"),
    [
        ("optim:\n  base_rl: 0.1\n", [], "key 'optim.base_rl': unknown key"),
        ("", ["train.batch_size=many"], "train.batch_size"),
        ("", ["train.tsak=detection"], "train.tsak"),
        ("", ["train.task=segmentation"], "key 'train.task': must be one of"),
        ("", ["optim.lr_policy=linear"], "key 'optim.lr_policy'"),
        ("", ["optim.lr_policy=steps_with_relative_lrs", "optim.steps=[0,5]"], "optim.lrs"),
        ("", ["optim.lr_policy=steps_with_relative_lrs", "optim.steps=[1]"], "optim.steps"),
        ("", ["train.amp=fp8"], "train.amp"),
        ("", ["train.batch_size=0"], "train.batch_size"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(tmp_path, text, overrides, expected):
    with pytest.raises(InputError) as info:
        load_run_config(write(tmp_path, text), overrides)
    message = info.value.message
    assert expected in message
    assert "\n" not in message


def test_round_trip_through_a_checkpoint_dict():
    config = load_run_config(overrides=["optim.base_lr=0.3", "train.seed=7"])
    again = run_config_from_dict(run_config_to_dict(config))
    assert again == config
