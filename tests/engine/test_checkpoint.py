"""Checkpoint files: atomic, weights_only-loadable, pruned, and clear errors for bad files."""

from __future__ import annotations

import pytest
import torch
from engine_toy import toy_config, toy_model
from torch import nn

from avaloc.engine import load_checkpoint, load_matching_state, load_model_from_checkpoint
from avaloc.engine.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    prune_checkpoints,
    save_checkpoint,
    step_checkpoint_path,
)
from avaloc.engine.weights import load_pretrained_weights
from avaloc.errors import InputError


def minimal_state(model: nn.Module, step: int = 0) -> dict:
    from avaloc.engine import run_config_to_dict

    config = run_config_to_dict(toy_config())
    return {
        "model_state": model.state_dict(),
        "run_config": config,
        "model_config": config["model"],
        "global_step": step,
    }


def test_round_trip_with_weights_only(tmp_path):
    model = toy_model()
    path = save_checkpoint(minimal_state(model), tmp_path / "checkpoints" / "a.pt")
    raw = torch.load(path, weights_only=True)  # plain tensors and primitives only
    assert raw["format"] == "avaloc-checkpoint"
    state = load_checkpoint(path)
    for name, tensor in model.state_dict().items():
        assert torch.equal(state["model_state"][name], tensor)
    assert path.with_suffix(".yaml").is_file()  # the resolved config beside it
    assert not [p for p in path.parent.iterdir() if ".tmp" in p.name]


def test_latest_and_pruning_by_step_not_name_order(tmp_path):
    model = toy_model()
    for step in (5, 40, 300, 2000):
        save_checkpoint(minimal_state(model, step), step_checkpoint_path(tmp_path, step))
    save_checkpoint(minimal_state(model, 40), tmp_path / "checkpoints" / "best.pt")
    assert latest_checkpoint(tmp_path).name == "step_00002000.pt"
    removed = prune_checkpoints(tmp_path, keep_last=2)
    assert [p.name for p in removed] == ["step_00000005.pt", "step_00000040.pt"]
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000300.pt", "step_00002000.pt"]
    assert (tmp_path / "checkpoints" / "best.pt").is_file()
    assert latest_checkpoint(tmp_path / "nothing") is None


@pytest.mark.parametrize("kind", ["missing", "text", "truncated", "foreign"])
def test_bad_checkpoint_files_are_input_errors(tmp_path, kind):
    path = tmp_path / "bad.pt"
    if kind == "text":
        path.write_text("hello")
    elif kind == "truncated":
        save_checkpoint(minimal_state(toy_model()), path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "foreign":
        torch.save({"state_dict": {}}, path)
    with pytest.raises(InputError) as info:
        load_checkpoint(path)
    assert str(path) in info.value.message


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "avaloc-checkpoint", "payload": object()}, path)
    with pytest.raises(InputError, match="cannot load checkpoint"):
        load_checkpoint(path)


def test_pretrained_init_drops_a_head_of_another_size(tmp_path):
    source = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 400))
    path = save_checkpoint(minimal_state(source), tmp_path / "pretrain.pt")
    target = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 80))
    head_before = target[2].weight.clone()
    report = load_pretrained_weights(target, path)
    assert torch.equal(target[0].weight, source[0].weight)
    assert torch.equal(target[2].weight, head_before)
    assert "loaded 2 tensors" in report
    assert "2.weight (400, 16) (model: (80, 16))" in report
    loaded, dropped, missing = load_matching_state(target, source.state_dict())
    assert loaded == ["0.weight", "0.bias"]
    assert len(dropped) == 2
    assert missing == ["2.weight", "2.bias"]


def test_load_model_from_checkpoint_with_a_custom_builder(tmp_path):
    model = toy_model()
    path = save_checkpoint(minimal_state(model), tmp_path / "m.pt")
    loaded, config = load_model_from_checkpoint(path, build=lambda cfg: toy_model())
    assert not loaded.training
    assert config.train.best_metric == "accuracy"
    points = torch.randn(4, 8)
    assert torch.equal(loaded(points), model.eval()(points))
