"""Learning-rate schedules against hand-computed values (PySlowFast lr_policy semantics)."""

from __future__ import annotations

import math

import pytest

from avaloc.engine.config import OptimConfig
from avaloc.engine.schedule import lr_at_epoch


def cosine(**kwargs) -> OptimConfig:
    return OptimConfig(lr_policy="cosine", base_lr=0.1, max_epoch=10, **kwargs)


def test_cosine_without_warmup_hand_values():
    cfg = cosine()
    assert lr_at_epoch(cfg, 0.0) == pytest.approx(0.1)
    assert lr_at_epoch(cfg, 5.0) == pytest.approx(0.05)  # cos(pi/2) = 0
    assert lr_at_epoch(cfg, 2.5) == pytest.approx(0.1 * (1 + math.sqrt(0.5)) / 2)
    assert lr_at_epoch(cfg, 10.0) == pytest.approx(0.0, abs=1e-12)


def test_cosine_with_linear_warmup_hand_values():
    cfg = cosine(warmup_epochs=2.0, warmup_start_lr=0.01)
    # The warm-up ends at the cosine's value at epoch 2: 0.1 * (cos(0.2 pi) + 1) / 2.
    at_two = 0.1 * (0.8090169943749475 + 1) / 2
    assert lr_at_epoch(cfg, 0.0) == pytest.approx(0.01)
    assert lr_at_epoch(cfg, 1.0) == pytest.approx(0.01 + (at_two - 0.01) / 2)
    assert lr_at_epoch(cfg, 0.5) == pytest.approx(0.01 + 0.25 * (at_two - 0.01))
    assert lr_at_epoch(cfg, 2.0) == pytest.approx(at_two)
    assert lr_at_epoch(cfg, 1.999999) == pytest.approx(at_two, rel=1e-5)  # continuous


def test_cosine_end_lr_and_after_warmup():
    cfg = cosine(
        warmup_epochs=2.0, warmup_start_lr=0.0, cosine_end_lr=0.001, cosine_after_warmup=True
    )
    assert lr_at_epoch(cfg, 2.0) == pytest.approx(0.1)  # the cosine starts after the warm-up
    assert lr_at_epoch(cfg, 6.0) == pytest.approx(0.001 + 0.099 * 0.5)
    assert lr_at_epoch(cfg, 10.0) == pytest.approx(0.001)
    assert lr_at_epoch(cfg, 1.0) == pytest.approx(0.05)


def test_steps_with_relative_lrs_pyslowfast_ava_short():
    # PySlowFast configs/AVA/SLOWFAST_32x2_R50_SHORT.yaml schedule (steps [0, 10, 15, 20] there
    # with MAX_EPOCH 20: the last step is the end of training).
    cfg = OptimConfig(
        lr_policy="steps_with_relative_lrs",
        base_lr=0.1,
        steps=[0.0, 10.0, 15.0, 20.0],
        lrs=[1.0, 0.1, 0.01, 0.001],
        max_epoch=20,
        warmup_epochs=5.0,
        warmup_start_lr=0.000125,
    )
    assert lr_at_epoch(cfg, 0.0) == pytest.approx(0.000125)
    assert lr_at_epoch(cfg, 2.5) == pytest.approx(0.000125 + 2.5 * (0.1 - 0.000125) / 5)
    assert lr_at_epoch(cfg, 5.0) == pytest.approx(0.1)
    assert lr_at_epoch(cfg, 9.999) == pytest.approx(0.1)
    assert lr_at_epoch(cfg, 10.0) == pytest.approx(0.01)
    assert lr_at_epoch(cfg, 14.5) == pytest.approx(0.01)
    assert lr_at_epoch(cfg, 15.0) == pytest.approx(0.001)
    assert lr_at_epoch(cfg, 19.99) == pytest.approx(0.001)
    assert lr_at_epoch(cfg, 20.0) == pytest.approx(0.0001)


def test_warmup_ends_at_the_step_value_of_its_own_epoch():
    # A step inside the warm-up: the warm-up target is the LR at warmup_epochs (0.5 * base).
    cfg = OptimConfig(
        lr_policy="steps_with_relative_lrs",
        base_lr=1.0,
        steps=[0.0, 1.0],
        lrs=[1.0, 0.5],
        max_epoch=4,
        warmup_epochs=2.0,
        warmup_start_lr=0.0,
    )
    assert lr_at_epoch(cfg, 1.0) == pytest.approx(0.25)
    assert lr_at_epoch(cfg, 3.0) == pytest.approx(0.5)
