"""``BalanceConfig``: the training switches and parameters of CP-IA and label subsampling."""

from __future__ import annotations

from dataclasses import dataclass

from avaloc.errors import InputError


@dataclass
class BalanceConfig:
    """CP-IA runs first (extra copies of instances carrying rare classes), then label subsampling
    (LS) computes its drop probabilities on the augmented counts."""

    cpia: bool = True
    cpia_target: int = 5000  # raise every class towards this many instances per epoch
    cpia_max_repeat: int = 20  # at most this many extra copies of one instance
    cpia_rule: str = "greedy"  # "greedy" (accounts for the copies' other labels) or "rarest"
    jitter_scale: float = 0.1  # width/height factor drawn from [1 - s, 1 + s]
    jitter_shift: float = 0.1  # centre moved by up to this fraction of the box size
    ls: bool = True
    ls_min_count: int = 10_000  # only classes with more instances than this are subsampled
    ls_threshold: float = 0.3  # T in Prob_i = max(0, T - 1 / P_i), P_i in percent

    def __post_init__(self) -> None:
        validate_balance_config(self)


def validate_balance_config(config: BalanceConfig) -> None:
    """InputError naming the key of the first out-of-range value."""
    checks = [
        ("cpia_target", config.cpia_target >= 1, "must be >= 1"),
        ("cpia_max_repeat", config.cpia_max_repeat >= 0, "must be >= 0"),
        ("cpia_rule", config.cpia_rule in ("greedy", "rarest"), "must be 'greedy' or 'rarest'"),
        ("jitter_scale", 0.0 <= config.jitter_scale < 1.0, "must be in [0, 1)"),
        ("jitter_shift", 0.0 <= config.jitter_shift <= 1.0, "must be in [0, 1]"),
        ("ls_min_count", config.ls_min_count >= 0, "must be >= 0"),
        ("ls_threshold", 0.0 <= config.ls_threshold <= 1.0, "must be in [0, 1]"),
    ]
    for key, ok, what in checks:
        if not ok:
            raise InputError(f"{what}, got {getattr(config, key)!r}", key=key)
