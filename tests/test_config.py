"""Typed configs: defaults, YAML, overrides, and one-line errors naming the key."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from avaloc.config import load_config, save_config
from avaloc.errors import InputError


@dataclass
class Optim:
    lr: float = 0.1
    steps: list[int] = field(default_factory=lambda: [10, 20])


@dataclass
class Run:
    name: str = "run"
    epochs: int = 3
    optim: Optim = field(default_factory=Optim)


def test_defaults_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 5\noptim:\n  lr: 0.5\n")
    config = load_config(Run, path, ["optim.steps=[1,2,3]", "name=x"])
    assert config == Run(name="x", epochs=5, optim=Optim(lr=0.5, steps=[1, 2, 3]))
    assert isinstance(config.optim, Optim)


def test_unknown_key_in_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lrr: 0.5\n")
    with pytest.raises(InputError) as info:
        load_config(Run, path)
    assert info.value.key == "optim.lrr" and "unknown key" in info.value.what
    assert str(path) in info.value.message


def test_wrong_type_in_override():
    with pytest.raises(InputError) as info:
        load_config(Run, None, ["epochs=many"])
    assert info.value.key == "epochs"
    assert "override 'epochs=many'" in info.value.message


def test_malformed_override_and_yaml(tmp_path):
    with pytest.raises(InputError, match="key=value"):
        load_config(Run, None, ["epochs"])
    path = tmp_path / "c.yaml"
    path.write_text("epochs: [1\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(Run, path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match="mapping"):
        load_config(Run, path)
    with pytest.raises(InputError, match="not found"):
        load_config(Run, tmp_path / "absent.yaml")


def test_save_round_trip(tmp_path):
    config = Run(name="a", optim=Optim(lr=0.25))
    save_config(config, tmp_path / "out.yaml")
    assert load_config(Run, tmp_path / "out.yaml") == config
