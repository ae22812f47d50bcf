"""The expected epoch composition under CP-IA + LS, and the measures of balance it achieves.

Everything is computed from the labels, without training:

- CP-IA gives instance n a weight ``1 + repeats[n]``: ``com_after_cpia = X^T diag(w) X``.
- LS keeps each label of class i with probability ``q_i = 1 - Prob_i``, independently, so the
  expected COM is ``E[e_ij] = q_i q_j e_ij`` off the diagonal and ``q_i e_ii`` on it.

Measures: diagonal balance (max/min ratio, coefficient of variation, Gini) over the classes
present in the input; correlation preservation as the cosine similarity, per class i, between
the conditional rows ``P(j | i) = e_ij / e_ii`` (j != i: the diagonal term is 1 by definition
and would inflate the similarity) before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avaloc.balance.config import BalanceConfig
from avaloc.balance.cooccurrence import cooccurrence_matrix
from avaloc.balance.cpia import cpia_repeats
from avaloc.balance.subsampling import label_subsampling_probs
from avaloc.formats import Instances


@dataclass(frozen=True)
class DiagonalBalance:
    """Balance of per-class counts (over the classes with a non-zero count before balancing)."""

    max_min_ratio: float
    coefficient_of_variation: float
    gini: float


def diagonal_balance(counts: np.ndarray) -> DiagonalBalance:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size == 0 or counts.min() <= 0:
        return DiagonalBalance(float("inf"), float("nan"), float("nan"))
    ordered = np.sort(counts)
    n = ordered.size
    gini = float(((2 * np.arange(1, n + 1) - n - 1) * ordered).sum() / (n * ordered.sum()))
    return DiagonalBalance(
        max_min_ratio=float(ordered[-1] / ordered[0]),
        coefficient_of_variation=float(ordered.std() / ordered.mean()),
        gini=gini,
    )


def conditional_rows(com: np.ndarray) -> np.ndarray:
    """(K, K) ``P(j | i) = e_ij / e_ii`` (rows of absent classes are 0)."""
    com = np.asarray(com, dtype=np.float64)
    diagonal = np.diag(com)
    safe = np.where(diagonal > 0, diagonal, 1.0)
    return np.where(diagonal[:, None] > 0, com / safe[:, None], 0.0)


def row_cosines(com_before: np.ndarray, com_after: np.ndarray) -> np.ndarray:
    """(K,) cosine of the off-diagonal conditional rows before vs after; NaN when either row has
    no off-diagonal mass (a class never co-occurring has no correlation to preserve)."""
    before = conditional_rows(com_before)
    after = conditional_rows(com_after)
    np.fill_diagonal(before, 0.0)
    np.fill_diagonal(after, 0.0)
    norms = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
    dots = (before * after).sum(axis=1)
    return np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), np.nan)


@dataclass(frozen=True)
class BalanceMeasures:
    before: DiagonalBalance
    after_cpia: DiagonalBalance
    after: DiagonalBalance  # CP-IA then LS, expected counts
    row_cosine_cpia: np.ndarray  # (K,) before vs after CP-IA
    row_cosine: np.ndarray  # (K,) before vs after CP-IA + LS (expected)
    median_row_cosine: float
    min_row_cosine: float
    median_row_cosine_cpia: float
    min_row_cosine_cpia: float

    @property
    def ratio_reduction(self) -> float:
        """How many times smaller the diagonal max/min ratio is after balancing."""
        return self.before.max_min_ratio / self.after.max_min_ratio


@dataclass(frozen=True)
class EpochComposition:
    """What one training epoch looks like under a BalanceConfig, without loading a pixel."""

    class_ids: list[int]
    cpia_target: int  # the resolved target count
    com_before: np.ndarray  # (K, K) int64
    repeats: np.ndarray  # (N,) extra CP-IA copies per instance
    com_after_cpia: np.ndarray  # (K, K) int64
    drop_prob: np.ndarray  # (K,) LS probabilities, computed on the CP-IA counts
    expected_com: np.ndarray  # (K, K) float64, after CP-IA and LS
    measures: BalanceMeasures

    @property
    def counts_before(self) -> np.ndarray:
        return np.diag(self.com_before).copy()

    @property
    def counts_after_cpia(self) -> np.ndarray:
        return np.diag(self.com_after_cpia).copy()

    @property
    def expected_counts(self) -> np.ndarray:
        return np.diag(self.expected_com).copy()

    @property
    def extra_samples(self) -> int:
        return int(self.repeats.sum())


def expected_com_after_subsampling(com: np.ndarray, drop_prob: np.ndarray) -> np.ndarray:
    """E[COM] when each label of class i is kept independently with probability 1 - p_i."""
    keep = 1.0 - np.asarray(drop_prob, dtype=np.float64)
    expected = np.asarray(com, dtype=np.float64) * np.outer(keep, keep)
    np.fill_diagonal(expected, np.diag(com) * keep)
    return expected


def _nan_stat(function, values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(function(finite)) if finite.size else float("nan")


def epoch_composition(
    instances: Instances, class_ids: Sequence[int], config: BalanceConfig | None = None
) -> EpochComposition:
    """COM before, CP-IA copies, COM after CP-IA, LS probabilities on the augmented counts,
    expected COM after LS, and the balance measures."""
    config = config or BalanceConfig()
    class_ids = [int(c) for c in class_ids]
    com_before = cooccurrence_matrix(instances, class_ids)
    target = config.resolved_target(int(np.trace(com_before)))
    if config.cpia:
        repeats = cpia_repeats(
            instances,
            class_ids,
            target,
            config.cpia_max_repeat,
            rule=config.cpia_rule,
        )
        com_after_cpia = cooccurrence_matrix(instances, class_ids, weights=1 + repeats)
    else:
        repeats = np.zeros(len(instances), dtype=np.int64)
        com_after_cpia = com_before.copy()
    counts_cpia = np.diag(com_after_cpia)
    if config.ls and counts_cpia.sum() > 0:
        drop_prob = label_subsampling_probs(
            counts_cpia, float(counts_cpia.sum()), config.ls_threshold, config.ls_min_count
        )
    else:
        drop_prob = np.zeros(len(class_ids))
    expected = expected_com_after_subsampling(com_after_cpia, drop_prob)
    present = np.diag(com_before) > 0
    cos_cpia = row_cosines(com_before, com_after_cpia)
    cos_all = row_cosines(com_before, expected)
    measures = BalanceMeasures(
        before=diagonal_balance(np.diag(com_before)[present]),
        after_cpia=diagonal_balance(counts_cpia[present]),
        after=diagonal_balance(np.diag(expected)[present]),
        row_cosine_cpia=cos_cpia,
        row_cosine=cos_all,
        median_row_cosine=_nan_stat(np.median, cos_all),
        min_row_cosine=_nan_stat(np.min, cos_all),
        median_row_cosine_cpia=_nan_stat(np.median, cos_cpia),
        min_row_cosine_cpia=_nan_stat(np.min, cos_cpia),
    )
    return EpochComposition(
        class_ids=class_ids,
        cpia_target=target,
        com_before=com_before,
        repeats=repeats,
        com_after_cpia=com_after_cpia,
        drop_prob=drop_prob,
        expected_com=expected,
        measures=measures,
    )


def target_frontier(
    instances: Instances,
    class_ids: Sequence[int],
    targets: Sequence[int],
    config: BalanceConfig | None = None,
) -> list[dict[str, float]]:
    """Ratio reduction and row cosines for each CP-IA ``target`` (other options from config)."""
    config = config or BalanceConfig()
    points = []
    for target in targets:
        varied = BalanceConfig(**{**config.__dict__, "cpia_target": int(target)})
        composition = epoch_composition(instances, class_ids, varied)
        measures = composition.measures
        points.append(
            {
                "target": int(target),
                "extra_samples": composition.extra_samples,
                "ratio_before": measures.before.max_min_ratio,
                "ratio_after": measures.after.max_min_ratio,
                "ratio_reduction": measures.ratio_reduction,
                "median_row_cosine": measures.median_row_cosine,
                "min_row_cosine": measures.min_row_cosine,
            }
        )
    return points
