"""The run config: one typed dataclass composing every stage's config plus the engine's own.

``RunConfig`` is what a YAML recipe in ``configs/`` holds and what every checkpoint embeds (as a
plain dict), so a checkpoint alone is enough to rebuild its model and resume its run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from avaloc.balance import BalanceConfig
from avaloc.config import config_to_dict, load_config
from avaloc.data import DataConfig
from avaloc.errors import InputError
from avaloc.models import ModelConfig

TASKS = ("classification", "detection")
POLICIES = ("cosine", "steps_with_relative_lrs")
AMP_MODES = ("off", "bf16", "fp16")
#: the metric each task's validation reports (what ``train.best_metric: auto`` follows).
BEST_METRIC = {"classification": "top1", "detection": "mAP"}


@dataclass
class OptimConfig:
    """SGD and the per-iteration learning-rate schedule (PySlowFast's SOLVER semantics)."""

    base_lr: float = 0.1
    lr_policy: str = "cosine"
    #: steps_with_relative_lrs: epochs where each relative LR starts (first is 0) and the LRs.
    steps: list[float] = field(default_factory=lambda: [0.0])
    lrs: list[float] = field(default_factory=lambda: [1.0])
    max_epoch: int = 10
    warmup_epochs: float = 0.0
    warmup_start_lr: float = 0.01
    cosine_end_lr: float = 0.0
    #: cosine: start the cosine at the end of the warm-up instead of at epoch 0.
    cosine_after_warmup: bool = False
    momentum: float = 0.9
    dampening: float = 0.0
    nesterov: bool = True
    weight_decay: float = 1e-7
    #: weight decay of normalization-layer parameters (PySlowFast's BN.WEIGHT_DECAY).
    bn_weight_decay: float = 0.0
    #: no weight decay on biases and other 1-D parameters (PySlowFast's ZERO_WD_1D_PARAM).
    zero_wd_1d_params: bool = False
    #: clip the global gradient L2 norm to this value; 0 disables clipping.
    clip_grad_norm: float = 0.0


@dataclass
class TrainConfig:
    """The loop: task, batch, precision, checkpoints, validation, logging, distribution."""

    task: str = "detection"
    #: clips per process and iteration (the global batch is this times the world size).
    batch_size: int = 8
    eval_batch_size: int = 8
    num_workers: int = 0
    seed: int = 0
    #: deterministic kernels (torch.use_deterministic_algorithms): bit-identical CPU reruns.
    deterministic: bool = False
    #: autocast precision: off, bf16 (CPU or CUDA) or fp16 (CUDA, with a gradient scaler).
    amp: str = "off"
    device: str = "auto"
    #: checkpoint every N epochs, and every N iterations within an epoch (0 = never).
    checkpoint_period: int = 1
    checkpoint_every_iters: int = 0
    keep_last: int = 3
    #: validate every N epochs (0 = never); the best checkpoint follows ``best_metric``
    #: ("auto": mAP for detection, top1 for classification).
    eval_period: int = 1
    #: also validate the initial weights (logged at step 0): the untrained baseline.
    eval_at_start: bool = False
    best_metric: str = "auto"
    log_period: int = 10
    #: put the BN layers in eval mode during training (statistics and affine frozen).
    freeze_bn: bool = False
    sync_bn: bool = False
    #: start fine-tuning from this checkpoint (avaloc .pt or PySlowFast .pyth); heads of a
    #: different size are dropped with a message.
    init_checkpoint: str | None = None
    #: stop after this many iterations of the whole run (0 = run all epochs); for quick checks.
    max_iters: int = 0
    progress: bool = True


@dataclass
class RunConfig:
    """Everything a training run needs; what ``avaloc train --config`` loads."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    balance: BalanceConfig = field(default_factory=BalanceConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def validate_run_config(config: RunConfig, path: str | os.PathLike | None = None) -> RunConfig:
    """Check the engine's value constraints that types alone cannot express."""
    optim, train = config.optim, config.train

    def fail(key: str, what: str) -> None:
        raise InputError(what, path=path, key=key)

    if train.task not in TASKS:
        fail("train.task", f"must be one of {', '.join(TASKS)}, got {train.task!r}")
    if optim.lr_policy not in POLICIES:
        fail("optim.lr_policy", f"must be one of {', '.join(POLICIES)}, got {optim.lr_policy!r}")
    if train.amp not in AMP_MODES:
        fail("train.amp", f"must be one of {', '.join(AMP_MODES)}, got {train.amp!r}")
    if optim.max_epoch < 1:
        fail("optim.max_epoch", "must be >= 1")
    if optim.base_lr <= 0:
        fail("optim.base_lr", "must be > 0")
    if optim.warmup_epochs < 0 or optim.warmup_epochs > optim.max_epoch:
        fail("optim.warmup_epochs", "must be within [0, optim.max_epoch]")
    if optim.lr_policy == "steps_with_relative_lrs":
        if len(optim.steps) != len(optim.lrs) or not optim.steps:
            fail("optim.lrs", "needs one relative LR per entry of optim.steps")
        if optim.steps[0] != 0:
            fail("optim.steps", "the first step must be epoch 0")
        if any(b <= a for a, b in zip(optim.steps, optim.steps[1:])):
            fail("optim.steps", "steps must be strictly increasing")
    if optim.lr_policy == "cosine" and optim.cosine_end_lr >= optim.base_lr:
        fail("optim.cosine_end_lr", "must be below optim.base_lr")
    for key in ("batch_size", "eval_batch_size", "log_period", "keep_last"):
        if getattr(train, key) < 1:
            fail(f"train.{key}", "must be >= 1")
    for key in ("num_workers", "checkpoint_period", "checkpoint_every_iters", "eval_period"):
        if getattr(train, key) < 0:
            fail(f"train.{key}", "must be >= 0")
    config.data.validate()
    if optim.clip_grad_norm < 0:
        fail("optim.clip_grad_norm", "must be >= 0 (0 disables clipping)")
    return config


def best_metric_name(config: RunConfig) -> str:
    train = config.train
    return BEST_METRIC.get(train.task, "mAP") if train.best_metric == "auto" else train.best_metric


def load_run_config(
    path: str | os.PathLike | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    data: dict[str, Any] | None = None,
) -> RunConfig:
    """Load a YAML recipe plus ``key=value`` overrides into a validated :class:`RunConfig`."""
    config = load_config(RunConfig, path, overrides, data=data)
    return validate_run_config(config, path)


def run_config_to_dict(config: RunConfig) -> dict[str, Any]:
    return config_to_dict(config)


def run_config_from_dict(values: dict[str, Any]) -> RunConfig:
    """Rebuild a RunConfig from the dict embedded in a checkpoint."""
    return validate_run_config(load_config(RunConfig, data=values))
