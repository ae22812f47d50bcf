"""``avaloc stats`` as an API: COM before/after, Figure 2, class counts, LS table, stats.json."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avaloc.balance.config import BalanceConfig
from avaloc.balance.figures import (
    plot_class_counts,
    plot_cooccurrence_heatmaps,
    plot_target_frontier,
)
from avaloc.balance.measures import EpochComposition, epoch_composition, target_frontier
from avaloc.balance.subsampling import format_label_subsampling_table, label_subsampling_table
from avaloc.fileio import atomic_path, atomic_write
from avaloc.formats import Instances

GOAL_RATIO_REDUCTION = 10.0
GOAL_MEDIAN_ROW_COSINE = 0.95


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def write_matrix(matrix: np.ndarray, class_ids: Sequence[int], stem: str | os.PathLike) -> None:
    """``stem.npy`` and ``stem.csv`` (header and first column: action ids)."""
    stem = Path(stem)
    with atomic_path(stem.with_suffix(".npy")) as tmp, open(tmp, "wb") as handle:
        np.save(handle, matrix)
    integer = np.issubdtype(matrix.dtype, np.integer)
    with atomic_write(stem.with_suffix(".csv")) as handle:
        handle.write("action_id," + ",".join(str(c) for c in class_ids) + "\n")
        for action_id, row in zip(class_ids, matrix):
            cells = (str(int(v)) for v in row) if integer else (f"{v:.3f}" for v in row)
            handle.write(f"{action_id}," + ",".join(cells) + "\n")


def balance_stats(
    composition: EpochComposition, names: Mapping[int, str], config: BalanceConfig
) -> dict[str, Any]:
    """The stats.json content (see docs/balancing.md for every key)."""
    counts = composition.counts_before
    total = int(counts.sum())
    m = composition.measures
    classes = {}
    for k, action_id in enumerate(composition.class_ids):
        classes[str(action_id)] = {
            "name": names.get(action_id, ""),
            "count": int(counts[k]),
            "share_percent": 100.0 * float(counts[k]) / total if total else 0.0,
            "count_after_cpia": int(composition.counts_after_cpia[k]),
            "share_percent_after_cpia": 100.0
            * float(composition.counts_after_cpia[k])
            / max(int(composition.counts_after_cpia.sum()), 1),
            "ls_selected": bool(
                config.ls and composition.counts_after_cpia[k] > config.ls_min_count
            ),
            "ls_drop_prob": float(composition.drop_prob[k]),
            "expected_count_after_ls": float(composition.expected_counts[k]),
            "row_cosine_cpia": _finite(m.row_cosine_cpia[k]),
            "row_cosine": _finite(m.row_cosine[k]),
        }

    def trio(attribute: str) -> dict[str, float | None]:
        return {
            "before": _finite(getattr(m.before, attribute)),
            "after_cpia": _finite(getattr(m.after_cpia, attribute)),
            "after": _finite(getattr(m.after, attribute)),
        }

    return {
        "config": dict(config.__dict__),
        "cpia_target": composition.cpia_target,
        "num_instances": len(composition.repeats),
        "num_label_instances": total,
        "num_label_instances_after_cpia": int(composition.counts_after_cpia.sum()),
        "expected_label_instances_after_ls": float(composition.expected_counts.sum()),
        "cpia_extra_samples": composition.extra_samples,
        "cpia_instances_copied": int((composition.repeats > 0).sum()),
        "classes": classes,
        "ls_selected_classes": [
            int(c) for c, v in zip(composition.class_ids, classes.values()) if v["ls_selected"]
        ],
        "ls_selected_classes_on_input_counts": [
            int(c)
            for c, n in zip(composition.class_ids, counts)
            if config.ls and n > config.ls_min_count
        ],
        "ls_subsampled_classes": [
            int(c) for c, p in zip(composition.class_ids, composition.drop_prob) if p > 0
        ],
        "absent_classes": [int(c) for c, n in zip(composition.class_ids, counts) if n == 0],
        "diagonal_max_min_ratio": trio("max_min_ratio"),
        "diagonal_coefficient_of_variation": trio("coefficient_of_variation"),
        "diagonal_gini": trio("gini"),
        "ratio_reduction": _finite(m.ratio_reduction),
        "median_row_cosine": _finite(m.median_row_cosine),
        "min_row_cosine": _finite(m.min_row_cosine),
        "median_row_cosine_cpia": _finite(m.median_row_cosine_cpia),
        "min_row_cosine_cpia": _finite(m.min_row_cosine_cpia),
        "goal": {
            "ratio_reduction_at_least_10x": bool(m.ratio_reduction >= GOAL_RATIO_REDUCTION),
            "median_row_cosine_at_least_0.95": bool(m.median_row_cosine >= GOAL_MEDIAN_ROW_COSINE),
        },
    }


@dataclass(frozen=True)
class BalanceReport:
    """What :func:`write_balance_report` wrote: the stats.json content and the LS table."""

    stats: dict[str, Any]
    ls_table: str


def write_balance_report(
    instances: Instances,
    class_ids: Sequence[int],
    names: Mapping[int, str],
    out_dir: str | os.PathLike,
    config: BalanceConfig | None = None,
    *,
    frontier_targets: Sequence[int] = (),
    source: str = "",
) -> BalanceReport:
    """Compute the epoch composition and write every artefact of ``avaloc stats`` to out_dir."""
    config = config or BalanceConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    class_ids = [int(c) for c in class_ids]
    composition = epoch_composition(instances, class_ids, config)
    write_matrix(composition.com_before, class_ids, out / "com_before")
    write_matrix(composition.com_after_cpia, class_ids, out / "com_after_cpia")
    write_matrix(composition.expected_com, class_ids, out / "com_after_expected")
    plot_cooccurrence_heatmaps(
        [composition.com_before, composition.com_after_cpia, composition.expected_com],
        ["before", "after CP-IA", "after CP-IA + LS (expected)"],
        class_ids,
        names,
        out / "figure2_cooccurrence.png",
    )
    plot_class_counts(
        {
            "before": composition.counts_before,
            "after CP-IA": composition.counts_after_cpia,
            "after CP-IA + LS (expected)": composition.expected_counts,
        },
        class_ids,
        names,
        out / "class_counts.png",
    )
    rows = label_subsampling_table(
        class_ids,
        composition.counts_after_cpia,
        names,
        T=config.ls_threshold,
        min_count=config.ls_min_count,
    )
    table = format_label_subsampling_table(rows)
    with atomic_write(out / "ls_table.txt") as handle:
        handle.write("Label subsampling on the counts after CP-IA (P_i in percent)\n")
        handle.write(table + "\n")
    stats = balance_stats(composition, names, config)
    stats["annotations"] = source
    if frontier_targets:
        targets = sorted({*map(int, frontier_targets), composition.cpia_target})
        points = target_frontier(instances, class_ids, targets, config)
        stats["frontier"] = [{k: _finite(v) for k, v in p.items()} for p in points]
        plot_target_frontier(points, composition.cpia_target, out / "frontier.png")
    with atomic_write(out / "stats.json") as handle:
        json.dump(stats, handle, indent=2)
        handle.write("\n")
    return BalanceReport(stats, table)
