"""Learning rate as a function of the (fractional) epoch, with PySlowFast's semantics.

The LR is set every iteration from ``epoch + iteration / iterations_per_epoch``, so the schedule
is a pure function of the position in the run: nothing to save but that position, and resuming
gives the same LRs. Policies (PySlowFast's ``slowfast/utils/lr_policy.py`` behaviour):

- ``cosine``: ``end + (base - end) * (1 + cos(pi * (e - offset) / (max_epoch - offset))) / 2``
  with ``offset = warmup_epochs`` if ``cosine_after_warmup`` else 0;
- ``steps_with_relative_lrs``: ``base * lrs[i]`` where ``i`` is the last ``steps[i] <= e``;
- linear warm-up for ``e < warmup_epochs``: from ``warmup_start_lr`` to the policy's LR at
  ``warmup_epochs``.
"""

from __future__ import annotations

import bisect
import math

import torch

from avaloc.engine.config import OptimConfig


def _cosine(cfg: OptimConfig, epoch: float) -> float:
    offset = cfg.warmup_epochs if cfg.cosine_after_warmup else 0.0
    span = cfg.max_epoch - offset
    phase = (epoch - offset) / span if span > 0 else 1.0
    return cfg.cosine_end_lr + (cfg.base_lr - cfg.cosine_end_lr) * 0.5 * (
        math.cos(math.pi * phase) + 1.0
    )


def _steps_with_relative_lrs(cfg: OptimConfig, epoch: float) -> float:
    index = max(bisect.bisect_right(cfg.steps, epoch) - 1, 0)
    return cfg.base_lr * cfg.lrs[index]


_POLICIES = {"cosine": _cosine, "steps_with_relative_lrs": _steps_with_relative_lrs}


def lr_at_epoch(cfg: OptimConfig, epoch: float) -> float:
    """The learning rate at fractional ``epoch`` (e.g. ``3 + 40 / 100`` = iteration 40 of 100)."""
    policy = _POLICIES[cfg.lr_policy]
    if epoch < cfg.warmup_epochs:
        end = policy(cfg, cfg.warmup_epochs)
        return cfg.warmup_start_lr + epoch * (end - cfg.warmup_start_lr) / cfg.warmup_epochs
    return policy(cfg, epoch)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
