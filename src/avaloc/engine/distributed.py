"""Distributed data parallel on torchrun: process group, device, and an epoch-seeded sampler.

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``;
:func:`init_distributed` reads them (a plain ``python`` run is world size 1). Gloo on CPU, NCCL on
GPUs. Every rank builds the same sample list (CP-IA copies included: it is a pure function of the
annotations and the config) and :class:`EpochSampler` permutes it with a generator seeded by
``(seed, epoch)`` only, so the ranks agree on the order; rank ``r`` takes positions
``r, r + W, r + 2W, ...``. Per-sample randomness (augmentation, label-subsampling draws) is seeded
by the dataset from ``(seed, epoch, sample)``, never by rank or worker, so it is also the same
whatever the world size.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from avaloc.seeding import torch_generator


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the torchrun process group (if any) and pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        # Validation runs on rank 0 while the others wait at a barrier: allow it hours.
        dist.init_process_group(
            backend="nccl" if use_cuda else "gloo", timeout=datetime.timedelta(hours=3)
        )
    return DistInfo(rank, world_size, local_rank, chosen)


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean over ranks (identity in a single process); NaN on any rank reaches every rank."""
    if dist.is_available() and dist.is_initialized():
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return value


def broadcast_flag(flag: bool, device: torch.device) -> bool:
    """Rank 0's boolean, on every rank."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    tensor = torch.tensor([int(flag)], device=device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


class EpochSampler(Sampler[int]):
    """Rank-sharded, epoch-seeded order over ``num_samples`` samples, resumable mid-epoch.

    Training drops the incomplete last global batch (as PySlowFast's train loader), so every rank
    runs the same number of iterations. ``start_iteration`` skips the batches already done.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.epoch = 0
        self.start_iteration = 0

    @property
    def iterations_per_epoch(self) -> int:
        return self.num_samples // (self.batch_size * self.world_size)

    def set_epoch(self, epoch: int, start_iteration: int = 0) -> None:
        self.epoch = epoch
        self.start_iteration = start_iteration

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The global order of epoch ``epoch`` (identical on every rank)."""
        if self.shuffle:
            return torch.randperm(self.num_samples, generator=torch_generator(self.seed, epoch))
        return torch.arange(self.num_samples)

    def __iter__(self) -> Iterator[int]:
        used = self.iterations_per_epoch * self.batch_size * self.world_size
        mine = self.epoch_order(self.epoch)[:used][self.rank :: self.world_size]
        return iter(mine[self.start_iteration * self.batch_size :].tolist())

    def __len__(self) -> int:
        return (self.iterations_per_epoch - self.start_iteration) * self.batch_size
