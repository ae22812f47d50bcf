"""A toy classification task for testing the training loop without video or SlowFast.

Samples are fixed 8-d points (a function of the seed) whose class is the argmax of a fixed linear
map, plus per-(epoch, sample) noise: the same draw whatever the worker, rank or resume point,
like the real datasets' augmentation.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from avaloc.engine.config import RunConfig
from avaloc.seeding import torch_generator

FEATURES = 8
CLASSES = 3


def _points(seed: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch_generator(seed, 99)
    weights = torch.randn(FEATURES, CLASSES, generator=torch_generator(1234))
    points = torch.randn(count, FEATURES, generator=generator)
    return points, (points @ weights).argmax(dim=1)


class ToyDataset(Dataset):
    def __init__(self, count: int, seed: int, noise: float = 0.1, delay: float = 0.0) -> None:
        self.points, self.labels = _points(seed, count)
        self.seed = seed
        self.noise = noise
        self.delay = delay
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.delay:
            time.sleep(self.delay)
        jitter = torch.randn(FEATURES, generator=torch_generator(self.seed, self.epoch, index))
        return self.points[index] + self.noise * jitter, self.labels[index]


def toy_model(dropout: float = 0.0, batch_norm: bool = False) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(FEATURES, 16)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, CLASSES)]
    return nn.Sequential(*layers)


class ToyTask:
    """Implements avaloc.engine.task.Task; ``validate`` reports accuracy as 'accuracy'."""

    def __init__(
        self,
        *,
        samples: int = 64,
        dropout: float = 0.0,
        batch_norm: bool = False,
        delay: float = 0.0,
        nan_at_step: int | None = None,
    ) -> None:
        self.samples = samples
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.delay = delay
        self.nan_at_step = nan_at_step
        self.calls = 0

    def prepare(self, config: RunConfig) -> RunConfig:
        return config

    def build_model(self, config: RunConfig) -> nn.Module:
        return toy_model(self.dropout, self.batch_norm)

    def train_dataset(self, config: RunConfig) -> Dataset:
        return ToyDataset(self.samples, config.train.seed, delay=self.delay)

    def collate(self, samples: list[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        points, labels = zip(*samples)
        return torch.stack(points), torch.stack(labels)

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        self.calls += 1
        points, labels = batch
        loss = F.cross_entropy(model(points), labels)
        if self.nan_at_step is not None and self.calls >= self.nan_at_step:
            loss = loss * float("nan")
        return loss, len(labels)

    def validate(self, model: nn.Module, config: RunConfig, device: torch.device) -> dict:
        points, labels = _points(config.train.seed + 1, 200)
        accuracy = (model(points).argmax(dim=1) == labels).float().mean().item()
        return {"accuracy": accuracy}


def toy_config(overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """A fast CPU config for the toy task (cosine schedule, no warm-up)."""
    from avaloc.engine import load_run_config

    base = [
        "train.batch_size=8",
        "train.progress=false",
        "train.best_metric=accuracy",
        "train.log_period=1",
        "optim.base_lr=0.2",
        "optim.max_epoch=4",
    ]
    return load_run_config(overrides=[*base, *overrides])
