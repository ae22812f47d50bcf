"""Figures of the balancing: the report's Figure 2 (COM heatmaps) and class-count bar charts.

Matplotlib through its object API (no pyplot state); every PNG is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from avaloc.fileio import atomic_path


def _save(figure: Figure, path: str | os.PathLike) -> None:
    FigureCanvasAgg(figure)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def _labels(class_ids: Sequence[int], names: Mapping[int, str]) -> list[str]:
    return [f"{names.get(c, '')[:28]} ({c})" for c in class_ids]


def plot_cooccurrence_heatmaps(
    matrices: Sequence[np.ndarray],
    titles: Sequence[str],
    class_ids: Sequence[int],
    names: Mapping[int, str],
    path: str | os.PathLike,
) -> None:
    """Side-by-side log10 heatmaps with one shared colour scale (zeros left white)."""
    positive = [m[m > 0] for m in matrices]
    high = max((float(p.max()) for p in positive if p.size), default=1.0)
    low = min((float(p.min()) for p in positive if p.size), default=1.0)
    norm = LogNorm(vmin=min(low, high), vmax=max(high, low * 10))
    k = len(class_ids)
    side = max(6.0, 0.13 * k + 2.5)
    figure = Figure(figsize=(side * len(matrices) + 1.5, side + 0.5))
    axes = figure.subplots(1, len(matrices), squeeze=False)[0]
    labels = _labels(class_ids, names)
    font = max(3.0, min(9.0, 520.0 / max(k, 1)))
    image = None
    for ax, matrix, title in zip(axes, matrices, titles):
        shown = np.ma.masked_less_equal(np.asarray(matrix, dtype=np.float64), 0)
        image = ax.imshow(shown, norm=norm, cmap="viridis", interpolation="nearest")
        ax.set_title(title, fontsize=11)
        ax.set_xticks(range(k), labels, rotation=90, fontsize=font)
        ax.set_yticks(range(k), labels, fontsize=font)
    if image is not None:
        colorbar = figure.colorbar(image, ax=list(axes), shrink=0.6, pad=0.01)
        colorbar.set_label("instances (log10 scale)")
    _save(figure, path)


def plot_class_counts(
    series: Mapping[str, np.ndarray],
    class_ids: Sequence[int],
    names: Mapping[int, str],
    path: str | os.PathLike,
) -> None:
    """Grouped bars per class (log scale), classes ordered by the first series' count."""
    first = np.asarray(next(iter(series.values())), dtype=np.float64)
    order = np.argsort(-first, kind="stable")
    k = len(class_ids)
    figure = Figure(figsize=(max(8.0, 0.22 * k + 3), 5.5))
    ax = figure.subplots()
    width = 0.8 / max(len(series), 1)
    for index, (label, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=np.float64)[order]
        ax.bar(np.arange(k) + (index - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_yscale("log")
    ax.set_ylabel("instances per class")
    ax.set_xticks(range(k), [_labels(class_ids, names)[i] for i in order], rotation=90, fontsize=6)
    ax.set_xlim(-0.7, k - 0.3)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    _save(figure, path)


def plot_target_frontier(
    points: Sequence[Mapping[str, float]], default_target: int, path: str | os.PathLike
) -> None:
    """Over CP-IA targets: the ratio reduction (top) and the row cosines (bottom), with the
    goals (10x, median >= 0.95) and the default target marked."""
    targets = [p["target"] for p in points]
    figure = Figure(figsize=(6.5, 6.0))
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.plot(targets, [p["ratio_reduction"] for p in points], "o-", label="max/min reduction")
    top.axhline(10, color="red", alpha=0.5, linestyle=":", label="goal: 10x")
    top.set_ylabel("diagonal max/min ratio\nreduction (x)")
    bottom.plot(targets, [p["median_row_cosine"] for p in points], "o-", label="median")
    bottom.plot(targets, [p["min_row_cosine"] for p in points], "s--", label="min")
    bottom.axhline(0.95, color="red", alpha=0.5, linestyle=":", label="goal: median >= 0.95")
    bottom.set_ylabel("row cosine P(j|i)\nbefore vs after")
    bottom.set_xlabel("CP-IA target (instances per class)")
    bottom.set_xscale("log")
    for ax in (top, bottom):
        ax.axvline(default_target, color="grey", alpha=0.6, label=f"default ({default_target})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _save(figure, path)
