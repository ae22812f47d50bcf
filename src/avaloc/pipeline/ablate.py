"""``avaloc ablate``: the report's Table 2 rows, trained and evaluated over several seeds.

| row | training | test |
|---|---|---|
| 1 baseline | no common augmentation, no CP-IA, no LS | one scale |
| 2 + CP-IA | CP-IA | one scale |
| 3 Aug + LS | common augmentation + LS | one scale |
| 4 Aug + CP-IA + LS | common augmentation + CP-IA + LS | one scale |
| 5 + multi-scale test | row 4's models | the scale ensemble |
| 6 + model ensemble | row 4's models of seed s and s+1 | the scale ensemble |

"No common augmentation" trains on the test-time view (short side at the test scale, whole frame,
no flip, no temporal jitter). All rows share one synthetic set, one person detector and its
proposals, and one pre-training checkpoint (what differs between rows is exactly the row's
setting); the seed changes the fine-tuning's initialisation of the head, sample order and draws.
mAP is split into head, middle and tail classes: the val classes with ground truth, sorted by
training frequency and cut in thirds.
"""

from __future__ import annotations

import copy
import json
import statistics
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avaloc.engine import RunConfig
from avaloc.errors import InputError
from avaloc.fileio import atomic_write
from avaloc.pipeline.quickstart import QuickstartConfig
from avaloc.pipeline.stages import (
    StageTimer,
    synthesize,
    train_action_model,
    train_person_detector,
    with_data_root,
    write_proposals,
)


@dataclass(frozen=True)
class Row:
    key: str
    name: str
    augment: bool = False
    cpia: bool = False
    ls: bool = False
    multiscale: bool = False
    ensemble: bool = False
    trains: bool = True  # False: reuses row 4's models


ROWS = (
    Row("1", "baseline (no augmentation)"),
    Row("2", "+ CP-IA", cpia=True),
    Row("3", "Aug + LS", augment=True, ls=True),
    Row("4", "Aug + CP-IA + LS", augment=True, cpia=True, ls=True),
    Row("5", "+ multi-scale test", augment=True, cpia=True, ls=True, multiscale=True, trains=False),
    Row(
        "6",
        "+ model ensemble",
        augment=True,
        cpia=True,
        ls=True,
        multiscale=True,
        ensemble=True,
        trains=False,
    ),
)
REPORT_AVA_VAL = {"1": 15.15, "2": 15.45, "3": 17.52, "4": 19.34, "5": 19.83, "6": None}


def row_config(base: RunConfig, row: Row, seed: int) -> RunConfig:
    """The fine-tuning config of ``row`` for ``seed``."""
    config = copy.deepcopy(base)
    config.train.seed = seed
    config.balance.cpia = row.cpia
    config.balance.ls = row.ls
    if not row.augment:
        config.data.train_augment = False
        config.data.temporal_jitter = 0
        config.data.color_jitter = 0.0
    return config


def frequency_groups(
    train_counts: dict[int, int], class_ids: Sequence[int]
) -> dict[str, list[int]]:
    """Head / middle / tail thirds of ``class_ids`` by training frequency (most frequent first)."""
    ordered = sorted(class_ids, key=lambda c: (-train_counts.get(c, 0), c))
    third = len(ordered) / 3
    return {
        "head": ordered[: round(third)],
        "middle": ordered[round(third) : round(2 * third)],
        "tail": ordered[round(2 * third) :],
    }


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if v == v]
    return sum(finite) / len(finite) if finite else float("nan")


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    finite = [v for v in values if v == v]
    if not finite:
        return float("nan"), float("nan")
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else 0.0


def run_ablation(
    out_dir: str | Path,
    config: QuickstartConfig,
    *,
    seeds: int = 3,
    rows: Sequence[str] = tuple(r.key for r in ROWS),
) -> dict[str, Any]:
    """Train and evaluate the Table 2 rows; writes ablation.json and ablation.md in ``out_dir``."""
    from avaloc.engine.predict import predict_split
    from avaloc.evaluation import frame_map, plot_two_runs
    from avaloc.formats import (
        group_instances,
        read_detections,
        read_excluded_timestamps,
        read_ground_truth,
        read_label_map,
    )

    if seeds < 1:
        raise InputError("--seeds must be at least 1", key="seeds")
    wanted = [r for r in ROWS if r.key in set(rows)]
    if not wanted:
        raise InputError(f"no known rows in {list(rows)} (rows are 1 to 6)", key="rows")
    if any(r.ensemble for r in wanted) and seeds < 2:
        raise InputError("row 6 (model ensemble) needs --seeds >= 2", key="seeds")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timer = StageTimer()
    with timer("synth"):
        data_dir = synthesize(out, config.synth)
    with timer("detector"):
        detector = train_person_detector(data_dir, out, config.detector)
        proposals, _ = write_proposals(data_dir, out, detector.weights)
    pretrain = with_data_root(config.pretrain, data_dir)
    finetune = with_data_root(config.finetune, data_dir)
    with timer("pretrain"):
        pretrained = train_action_model(pretrain, out / "pretrain")
    finetune.train.init_checkpoint = str(pretrained.last_checkpoint)

    needs_row4 = any(not r.trains for r in wanted)
    train_rows = [r for r in ROWS if r.trains and (r in wanted or (needs_row4 and r.key == "4"))]
    checkpoints: dict[tuple[str, int], Path] = {}
    for row in train_rows:
        for seed in range(seeds):
            with timer(f"row {row.key} seed {seed}"):
                result = train_action_model(
                    row_config(finetune, row, seed), out / "rows" / row.key / f"seed{seed}"
                )
            checkpoints[(row.key, seed)] = result.last_checkpoint

    label_map = read_label_map(data_dir / "annotations" / "label_map.pbtxt")
    gt = read_ground_truth(data_dir / "annotations" / "val.csv")
    excluded = read_excluded_timestamps(data_dir / "annotations" / "val_excluded_timestamps.csv")
    train_counts = group_instances(
        read_ground_truth(data_dir / "annotations" / "train.csv")
    ).class_counts()
    single = [finetune.data.test_scale]
    results: dict[str, list[dict[str, Any]]] = {}
    seed0: dict[str, Any] = {}
    for row in wanted:
        results[row.key] = []
        for seed in range(seeds):
            source = "4" if not row.trains else row.key
            models = [checkpoints[(source, seed)]]
            if row.ensemble:
                models.append(checkpoints[(source, (seed + 1) % seeds)])
            path = out / "predictions" / f"row{row.key}_seed{seed}.csv"
            with timer(f"predict row {row.key} seed {seed}"):
                predict_split(
                    models,
                    path,
                    config=finetune,
                    split="val",
                    scales=config.predict.scales if row.multiscale else single,
                    boxes=proposals,
                    score_thresh=config.predict.score_threshold,
                    progress=False,
                )
            result = frame_map(gt, read_detections(path), label_map, excluded=excluded)
            if seed == 0:
                seed0[row.key] = result
            evaluated = [c for c, r in result.per_class.items() if r.ap is not None]
            groups = frequency_groups(train_counts, evaluated)
            results[row.key].append(
                {
                    "seed": seed,
                    "mAP": result.mAP,
                    **{
                        g: _mean([result.per_class[c].ap for c in ids]) for g, ids in groups.items()
                    },
                    "per_class": {str(c): result.per_class[c].ap for c in evaluated},
                }
            )
    table = _table(wanted, results)
    report = {
        "rows": {r.key: {"name": r.name, "runs": results[r.key]} for r in wanted},
        "table": table,
        "seeds": seeds,
        "stages": {k: {"seconds": v} for k, v in timer.seconds.items()},
    }
    with atomic_write(out / "ablation.json") as handle:
        json.dump(report, handle, indent=2)
    markdown = format_table(table, seeds)
    plot_ablation(table, seeds, out / "figures" / "ablation.png")
    if "1" in seed0 and "4" in seed0:
        plot_two_runs(
            seed0["1"],
            seed0["4"],
            train_counts,
            out / "figures" / "per_class_row1_vs_row4.png",
            labels=("1 baseline", "4 Aug + CP-IA + LS"),
        )
    with atomic_write(out / "ablation.md") as handle:
        handle.write(markdown + "\n")
    print(markdown)
    return report


def _table(rows: Sequence[Row], results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    table = []
    for row in rows:
        entry: dict[str, Any] = {
            "row": row.key,
            "name": row.name,
            "report_ava_val": REPORT_AVA_VAL[row.key],
        }
        for measure in ("mAP", "head", "middle", "tail"):
            mean, std = _mean_std([run[measure] for run in results[row.key]])
            entry[measure] = {"mean": mean, "std": std}
        table.append(entry)
    return table


def plot_ablation(table: Sequence[dict[str, Any]], seeds: int, path: str | Path) -> None:
    """Grouped bars: mAP, head, middle and tail mAP per row, mean with the std as error bars."""
    from matplotlib.figure import Figure

    from avaloc.fileio import atomic_path

    measures = ("mAP", "head", "middle", "tail")
    figure = Figure(figsize=(8.0, 4.2))
    axes = figure.subplots()
    width = 0.8 / len(measures)
    for k, measure in enumerate(measures):
        positions = [i + (k - (len(measures) - 1) / 2) * width for i in range(len(table))]
        axes.bar(
            positions,
            [100 * e[measure]["mean"] for e in table],
            width,
            yerr=[100 * e[measure]["std"] for e in table],
            capsize=2,
            label=measure if measure != "mAP" else "all classes",
        )
    names = [f"{e['row']}\n" + textwrap.fill(e["name"], 16) for e in table]
    axes.set_xticks(range(len(table)), names, fontsize=7)
    axes.set_ylabel(f"frame-mAP@0.5 (%), mean ± std over {seeds} seeds")
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=150, bbox_inches="tight")


def format_table(table: Sequence[dict[str, Any]], seeds: int) -> str:
    lines = [
        f"| row | setting | mAP (mean ± std over {seeds} seeds) | head | middle | tail | "
        "report (AVA val) |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in table:
        cells = [
            f"{100 * entry[m]['mean']:.2f} ± {100 * entry[m]['std']:.2f}"
            for m in ("mAP", "head", "middle", "tail")
        ]
        report = entry["report_ava_val"]
        lines.append(
            f"| {entry['row']} | {entry['name']} | "
            + " | ".join(cells)
            + f" | {'' if report is None else f'{report:.2f}'} |"
        )
    return "\n".join(lines)
