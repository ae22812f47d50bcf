"""What the training loop needs from a task: a model, a dataset, a loss, a validation.

The loop in :mod:`avaloc.engine.trainer` is task-agnostic; the two tasks of the report
(clip-classification pre-training and detection fine-tuning) live in :mod:`avaloc.engine.tasks`,
and tests plug in toy tasks through the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import Dataset

from avaloc.engine.config import RunConfig


class Task(Protocol):
    """A training task. ``loss`` returns the batch's mean loss and its number of clips."""

    def prepare(self, config: RunConfig) -> RunConfig:
        """Fill values derived from the data (e.g. the number of classes); default: as is."""
        ...

    def build_model(self, config: RunConfig) -> nn.Module: ...

    def train_dataset(self, config: RunConfig) -> Dataset: ...

    def collate(self, samples: list[Any]) -> Any: ...

    def loss(
        self, model: nn.Module, batch: Any, device: torch.device
    ) -> tuple[torch.Tensor, int]: ...

    def validate(
        self, model: nn.Module, config: RunConfig, device: torch.device
    ) -> dict[str, float]: ...


def move_to(value: Any, device: torch.device) -> Any:
    """Tensors (in lists, tuples and dicts) moved to ``device``; everything else as is."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, list | tuple):
        return type(value)(move_to(v, device) for v in value)
    if isinstance(value, dict):
        return {k: move_to(v, device) for k, v in value.items()}
    return value


TaskFactory = Callable[[RunConfig], Task]
