"""Optimizer groups (PySlowFast's construct_optimizer) and one hand-computed Nesterov step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from avaloc.engine.config import OptimConfig
from avaloc.engine.optim import build_optimizer, parameter_groups


def small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2)
    )


def ids(params) -> set[int]:
    return {id(p) for p in params}


def test_norm_parameters_get_bn_weight_decay_and_biases_keep_decay_by_default():
    net = small_net()
    groups = {g["group"]: g for g in parameter_groups(net, OptimConfig(weight_decay=1e-7))}
    assert set(groups) == {"norm", "decay"}
    assert ids(groups["norm"]["params"]) == ids(net[1].parameters())
    assert groups["norm"]["weight_decay"] == 0.0
    assert ids(groups["decay"]["params"]) == ids([*net[0].parameters(), *net[4].parameters()])
    assert groups["decay"]["weight_decay"] == 1e-7


def test_zero_wd_1d_params_moves_biases_out_of_decay():
    net = small_net()
    cfg = OptimConfig(weight_decay=1e-4, zero_wd_1d_params=True)
    groups = {g["group"]: g for g in parameter_groups(net, cfg)}
    assert ids(groups["no_decay"]["params"]) == ids([net[0].bias, net[4].bias])
    assert groups["no_decay"]["weight_decay"] == 0.0
    assert ids(groups["decay"]["params"]) == ids([net[0].weight, net[4].weight])


def test_frozen_parameters_are_left_out():
    net = small_net()
    net[0].weight.requires_grad_(False)
    every = [p for g in parameter_groups(net, OptimConfig()) for p in g["params"]]
    assert id(net[0].weight) not in ids(every)


def test_one_nesterov_step_matches_hand_computation():
    weight = nn.Parameter(torch.tensor([2.0]))
    model = nn.Module()
    model.weight = weight
    cfg = OptimConfig(base_lr=0.5, momentum=0.9, weight_decay=0.1, nesterov=True)
    optimizer = build_optimizer(model, cfg)
    steps = []
    for grad in (1.0, -3.0):
        weight.grad = torch.tensor([grad])
        optimizer.step()
        steps.append(weight.item())
    # Step 1: d = g + wd*w = 1 + 0.2 = 1.2; buf = 1.2; nesterov d' = d + 0.9 * buf = 2.28;
    # w = 2 - 0.5 * 2.28 = 0.86.
    assert steps[0] == pytest.approx(0.86)
    # Step 2: d = -3 + 0.1 * 0.86 = -2.914; buf = 0.9 * 1.2 + d = -1.834;
    # d' = d + 0.9 * buf = -4.5646; w = 0.86 + 0.5 * 4.5646 = 3.1423.
    assert steps[1] == pytest.approx(3.1423)
