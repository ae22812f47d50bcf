"""``BalanceConfig``: the training switches and parameters of CP-IA and label subsampling."""

from __future__ import annotations

from dataclasses import dataclass

from avaloc.errors import InputError


@dataclass
class BalanceConfig:
    """CP-IA runs first (extra copies of instances carrying rare classes), then label subsampling
    (LS) computes its drop probabilities on the augmented counts."""

    cpia: bool = True
    # raise every class towards this many instances per epoch; None: cpia_target_percent % of
    # all label instances (1 % is ~8.4k on AVA v2.2 train's ~840k labels, 61 on synthetic default)
    cpia_target: int | None = None
    cpia_target_percent: float = 1.0
    cpia_max_repeat: int = 20  # at most this many extra copies of one instance
    cpia_rule: str = "greedy"  # "greedy" (accounts for the copies' other labels) or "rarest"
    jitter_scale: float = 0.1  # width/height factor drawn from [1 - s, 1 + s]
    jitter_shift: float = 0.1  # centre moved by up to this fraction of the box size
    ls: bool = True
    ls_min_count: int = 10_000  # only classes with more instances than this are subsampled
    ls_threshold: float = 0.3  # T in Prob_i = max(0, T - 1 / P_i), P_i in percent

    def __post_init__(self) -> None:
        validate_balance_config(self)

    def resolved_target(self, num_label_instances: int) -> int:
        """The CP-IA target count for a set with ``num_label_instances`` labels in total."""
        if self.cpia_target is not None:
            return int(self.cpia_target)
        return max(1, round(self.cpia_target_percent * num_label_instances / 100.0))


def validate_balance_config(config: BalanceConfig) -> None:
    """InputError naming the key of the first out-of-range value."""
    checks = [
        ("cpia_target", config.cpia_target is None or config.cpia_target >= 1, "must be >= 1"),
        ("cpia_target_percent", 0.0 < config.cpia_target_percent <= 100.0, "must be in (0, 100]"),
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
