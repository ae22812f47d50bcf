"""RunConfig loading: YAML + key=value overrides, one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

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


CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_config_loads(path):
    config = load_run_config(path)
    assert config.train.task in ("classification", "detection")


def test_ava_table2_rows_differ_only_where_the_report_says():
    folder = Path(__file__).resolve().parents[2] / "configs" / "ava"
    rows = {p.stem.split("_")[0]: load_run_config(p) for p in folder.glob("model*.yaml")}
    assert (rows["model1"].balance.cpia, rows["model1"].balance.ls) == (False, False)
    assert (rows["model2"].balance.cpia, rows["model2"].balance.ls) == (True, False)
    assert (rows["model3"].balance.cpia, rows["model3"].balance.ls) == (False, True)
    assert (rows["model4"].balance.cpia, rows["model4"].balance.ls) == (True, True)
    assert rows["model1"].data.flip_prob == 0 and rows["model3"].data.flip_prob == 0.5
    assert not rows["model1"].data.train_augment and not rows["model2"].data.train_augment
    assert rows["model3"].data.train_augment and rows["model3"].data.temporal_jitter > 0
    assert rows["model5"] == rows["model4"]  # multi-scale testing changes only the test
    assert rows["model6"].data.train_annotations != rows["model4"].data.train_annotations
    for config in rows.values():
        assert config.optim.weight_decay == 1e-7 and config.optim.max_epoch == 30
        assert (config.data.num_frames, config.data.sampling_rate, config.data.alpha) == (20, 2, 4)
