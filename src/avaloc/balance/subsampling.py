"""Label subsampling (LS): randomly drop labels of the most frequent classes at load time.

For a class i with more than ``min_count`` instances, P_i = 100 * C_i / N is its share of all N
label instances IN PERCENT, and each of its labels is set to 0 with probability
``Prob_i = max(0, T - 1 / P_i)`` (T = 0.3 by default), drawn afresh every time a sample is loaded.

The formula only makes sense with P_i in percent: as a fraction (0 < P_i <= 1), 1 / P_i >= 1 > T
and every probability would be 0. In percent, a class is actually thinned only when
P_i > 1 / T (3.33 % for T = 0.3), and Prob_i approaches T for the most frequent classes; a class
above ``min_count`` but below 1 / T percent is selected yet gets probability 0.

An instance whose labels are all dropped stays in the batch as a negative (all-zero target).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch


def label_subsampling_probs(
    counts: np.ndarray | Sequence[float],
    total: float,
    T: float = 0.3,
    min_count: int = 10_000,
) -> np.ndarray:
    """(C,) drop probability per class: ``max(0, T - 1 / P_i)`` for ``C_i > min_count``, else 0.

    ``counts`` are instances per class (after CP-IA when it is on); ``total`` is N, the number of
    all label instances (the sum of ``counts`` over all classes).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    selected = counts > min_count
    share_percent = 100.0 * counts / total
    probs = np.zeros_like(counts)
    probs[selected] = np.maximum(0.0, T - 1.0 / share_percent[selected])
    return probs


class LabelSubsampler:
    """Callable label transform: ``(labels (K, C) or (C,), generator) -> labels`` with dropped
    positives set to 0. A fresh draw per call; pass a generator from :mod:`avaloc.seeding`
    derived from (seed, epoch, worker) so that runs are reproducible."""

    def __init__(self, drop_prob: torch.Tensor | np.ndarray | Sequence[float]) -> None:
        drop_prob = torch.as_tensor(np.asarray(drop_prob, dtype=np.float64), dtype=torch.float64)
        if drop_prob.ndim != 1:
            raise ValueError(f"drop_prob must be 1-D (C,), got shape {tuple(drop_prob.shape)}")
        if ((drop_prob < 0) | (drop_prob > 1)).any():
            raise ValueError("drop_prob must lie in [0, 1]")
        self.drop_prob = drop_prob

    def __call__(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if labels.shape[-1] != self.drop_prob.numel():
            raise ValueError(
                f"labels have {labels.shape[-1]} classes, drop_prob has {self.drop_prob.numel()}"
            )
        if not bool((self.drop_prob > 0).any()):
            return labels.clone()
        draws = torch.rand(labels.shape, generator=generator, dtype=torch.float64)
        return labels.masked_fill(draws < self.drop_prob, 0)

    def __repr__(self) -> str:
        active = int((self.drop_prob > 0).sum())
        return f"LabelSubsampler({active} of {self.drop_prob.numel()} classes subsampled)"


@dataclass(frozen=True)
class SubsamplingRow:
    """One line of the LS table."""

    action_id: int
    name: str
    count: float
    share_percent: float
    selected: bool
    drop_prob: float


def label_subsampling_table(
    class_ids: Sequence[int],
    counts: np.ndarray | Sequence[float],
    names: Mapping[int, str] | None = None,
    *,
    T: float = 0.3,
    min_count: int = 10_000,
) -> list[SubsamplingRow]:
    """The LS rows (count, P_i in percent, selected, Prob_i), most frequent class first."""
    counts = np.asarray(counts, dtype=np.float64)
    total = float(counts.sum())
    probs = label_subsampling_probs(counts, total, T, min_count)
    rows = [
        SubsamplingRow(
            action_id=int(c),
            name=(names or {}).get(int(c), ""),
            count=float(n),
            share_percent=100.0 * float(n) / total,
            selected=bool(n > min_count),
            drop_prob=float(p),
        )
        for c, n, p in zip(class_ids, counts, probs)
    ]
    return sorted(rows, key=lambda r: (-r.count, r.action_id))


def format_label_subsampling_table(
    rows: Sequence[SubsamplingRow], *, only_selected: bool = False
) -> str:
    """Plain-text table: id, name, count, P_i (%), selected, Prob_i."""
    lines = [f"{'id':>4}  {'name':<34} {'count':>10} {'P_i %':>8} {'sel':>4} {'Prob_i':>7}"]
    for row in rows:
        if only_selected and not row.selected:
            continue
        lines.append(
            f"{row.action_id:>4}  {row.name[:34]:<34} {row.count:>10.0f} "
            f"{row.share_percent:>8.3f} {'yes' if row.selected else '':>4} {row.drop_prob:>7.4f}"
        )
    return "\n".join(lines)
