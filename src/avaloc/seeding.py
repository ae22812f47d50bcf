"""Explicit random generators derived from (seed, epoch, worker, rank).

Library code never touches global RNG state: every random choice takes a generator made here,
so a run is reproducible and the draws of different workers, ranks and epochs are independent.
"""

from __future__ import annotations

import numpy as np
import torch


def seed_sequence(seed: int, *streams: int) -> np.random.SeedSequence:
    """A SeedSequence for ``seed`` and a tuple of stream ids (e.g. epoch, worker, rank)."""
    return np.random.SeedSequence([int(seed), *(int(s) for s in streams)])


def numpy_generator(seed: int, *streams: int) -> np.random.Generator:
    """A numpy generator independent for each distinct ``(seed, *streams)``."""
    return np.random.default_rng(seed_sequence(seed, *streams))


def torch_generator(seed: int, *streams: int) -> torch.Generator:
    """A CPU torch generator independent for each distinct ``(seed, *streams)``."""
    state = seed_sequence(seed, *streams).generate_state(2, dtype=np.uint32)
    generator = torch.Generator()
    generator.manual_seed(int(state[0]) << 32 | int(state[1]))
    return generator
