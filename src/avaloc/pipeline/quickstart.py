"""``avaloc quickstart``: the report's whole system on the synthetic benchmark, with a report.

Stages (each timed, each resumable by re-running into the same folder):

  synth -> balance stats -> detector train -> proposals -> pre-train -> fine-tune
        -> predict (multi-scale) -> evaluate (+ threshold sweep) -> report.json/.md/.html

The configuration is one typed dataclass, :class:`QuickstartConfig`, whose embedded default is
``avaloc/resources/quickstart.yaml`` (the slim CPU configuration of the report's architecture).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from avaloc.config import config_to_dict, load_config, save_config
from avaloc.detect import DetectorConfig
from avaloc.engine import RunConfig
from avaloc.errors import InputError
from avaloc.fileio import atomic_write
from avaloc.pipeline.stages import (
    StageTimer,
    balance_stats,
    synthesize,
    train_action_model,
    train_person_detector,
    with_data_root,
    write_proposals,
)

DEFAULT_CONFIG = "quickstart.yaml"


@dataclass
class SynthSettings:
    preset: str = "default"
    seed: int = 0


@dataclass
class PredictSettings:
    scales: list[int] = field(default_factory=lambda: [128, 144, 160])
    #: person boxes above this detector score go to the action model (the report's best).
    score_threshold: float = 0.85
    sweep_thresholds: list[float] = field(
        default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9]
    )


@dataclass
class QuickstartConfig:
    synth: SynthSettings = field(default_factory=SynthSettings)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    pretrain: RunConfig = field(default_factory=RunConfig)
    finetune: RunConfig = field(default_factory=RunConfig)
    predict: PredictSettings = field(default_factory=PredictSettings)


def default_config_path() -> Path:
    return Path(str(resources.files("avaloc.resources").joinpath(DEFAULT_CONFIG)))


def load_quickstart_config(
    path: str | Path | None = None, overrides: Sequence[str] = ()
) -> QuickstartConfig:
    """The embedded default (or ``path``) with ``key=value`` overrides, validated."""
    return load_config(QuickstartConfig, path or default_config_path(), list(overrides))


def run_quickstart(out_dir: str | Path, config: QuickstartConfig) -> dict[str, Any]:
    """Run every stage into ``out_dir``; returns the report dict (also written as JSON)."""
    from avaloc.engine.predict import det_scores_path_for, predict_split
    from avaloc.evaluation import (
        attach_detector_scores,
        frame_map,
        plot_per_class_ap,
        plot_threshold_sweep,
        shuffled_score_map,
        threshold_sweep,
    )
    from avaloc.formats import (
        read_detections,
        read_excluded_timestamps,
        read_ground_truth,
        read_label_map,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out / "quickstart_config.yaml")
    timer = StageTimer()
    started = time.perf_counter()

    with timer("synth"):
        data_dir = synthesize(out, config.synth)
    pretrain = with_data_root(config.pretrain, data_dir)
    finetune = with_data_root(config.finetune, data_dir)
    with timer("balance_stats"):
        stats = balance_stats(data_dir, out, finetune)
    with timer("detector_train"):
        detector_summary = train_person_detector(data_dir, out, config.detector)
    with timer("proposals"):
        proposals, detector_figures = write_proposals(data_dir, out, detector_summary.weights)
    with timer("pretrain"):
        pretrained = train_action_model(pretrain, out / "pretrain")
    finetune.train.init_checkpoint = str(pretrained.last_checkpoint)
    with timer("finetune"):
        finetuned = train_action_model(finetune, out / "finetune")
    checkpoint = finetuned.best_checkpoint or finetuned.last_checkpoint
    predictions = out / "predictions" / "val_predictions.csv"
    with timer("predict"):
        summary = predict_split(
            [checkpoint],
            predictions,
            config=finetune,
            split="val",
            scales=config.predict.scales,
            boxes=proposals,
            score_thresh=0.0,
            keep_det_scores=True,
        )
    with timer("evaluate"):
        label_map = read_label_map(data_dir / "annotations" / "label_map.pbtxt")
        gt = read_ground_truth(data_dir / "annotations" / "val.csv")
        excluded = read_excluded_timestamps(
            data_dir / "annotations" / "val_excluded_timestamps.csv"
        )
        rows = attach_detector_scores(
            read_detections(predictions), read_detections(det_scores_path_for(predictions))
        )
        threshold = config.predict.score_threshold
        kept = rows[rows["det_score"] >= threshold].drop(columns="det_score")
        result = frame_map(gt, kept, label_map, excluded=excluded)
        chance = shuffled_score_map(gt, kept, label_map, excluded)
        sweep = threshold_sweep(
            gt, rows, label_map, config.predict.sweep_thresholds, excluded=excluded
        )
        figures = out / "figures"
        plot_per_class_ap(result, figures / "per_class_ap.png")
        plot_threshold_sweep(sweep, figures / "threshold_sweep.png")
    with timer("report"):
        outcome = Outcome(
            data_dir,
            stats,
            detector_summary,
            detector_figures,
            pretrained,
            finetuned,
            summary,
            result,
            sweep,
            chance,
        )
        report = _report(out, config, outcome, timer)
    total = time.perf_counter() - started
    print(
        f"[quickstart] frame-mAP@0.5 {result.mAP:.4f} (detector boxes >= {threshold:g}, "
        f"{len(config.predict.scales)} test scales); {total / 60:.1f} min; report: "
        f"{out / 'report.md'}",
        flush=True,
    )
    return report


def _best_sweep_text(sweep: Sequence[Any]) -> str:
    finite = [p for p in sweep if p.mAP == p.mAP]
    if not finite:
        return "n/a"
    best = max(finite, key=lambda p: p.mAP)
    return f"{best.mAP:.4f} at detector score >= {best.threshold:g}"


def _finite(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


@dataclass
class Outcome:
    """What the stages of one quickstart run produced (the report is written from it)."""

    data_dir: Path
    stats: dict[str, Any]
    detector_summary: Any  # avaloc.detect.TrainSummary
    detector_figures: dict[str, float]
    pretrained: Any  # avaloc.engine.TrainResult
    finetuned: Any
    prediction: Any  # avaloc.engine.predict.PredictionSummary
    result: Any  # avaloc.evaluation.FrameMapResult
    sweep: list[Any]
    chance: tuple[float, float]  # mean, std of the shuffled-score frame-mAP


def _report(
    out: Path, config: QuickstartConfig, outcome: Outcome, timer: StageTimer
) -> dict[str, Any]:
    from avaloc.engine import plot_log
    from avaloc.pipeline import report as doc

    result, sweep, stats = outcome.result, outcome.sweep, outcome.stats
    detector_summary, detector_figures = outcome.detector_summary, outcome.detector_figures
    pretrained, finetuned, prediction = outcome.pretrained, outcome.finetuned, outcome.prediction
    data_dir = outcome.data_dir

    curves = plot_log(out / "finetune", out / "figures" / "finetune")
    pre_curves = plot_log(out / "pretrain", out / "figures" / "pretrain")
    train_counts = {int(k): v["count"] for k, v in stats.get("classes", {}).items()}
    report = {
        "mAP": _finite(result.mAP),
        "chance_mAP": {"mean": _finite(outcome.chance[0]), "std": _finite(outcome.chance[1])},
        "per_class": {
            str(c): {
                "name": r.name,
                "ap": _finite(r.ap),
                "num_gt": r.num_gt,
                "train_count": train_counts.get(c, 0),
            }
            for c, r in result.per_class.items()
        },
        "threshold_sweep": [
            {"threshold": p.threshold, "mAP": _finite(p.mAP), "boxes": p.boxes} for p in sweep
        ],
        "detector": {
            **detector_figures,
            "train_iterations": detector_summary.iterations,
            "train_seconds": round(detector_summary.seconds, 1),
        },
        "pretrain": {
            "first_loss": pretrained.first_loss,
            "last_loss": pretrained.last_loss,
            "best_top1": pretrained.best_metric,
        },
        "finetune": {
            "first_loss": finetuned.first_loss,
            "last_loss": finetuned.last_loss,
            "best_val_mAP_gt_boxes": finetuned.best_metric,
            "validations": finetuned.validations,
        },
        "predict": {
            "keyframes": prediction.keyframes,
            "boxes": prediction.boxes,
            "keyframes_per_second": prediction.keyframes_per_second,
            "scales": config.predict.scales,
        },
        "balance": {
            k: stats.get(k)
            for k in ("diagonal_max_min_ratio", "median_row_cosine", "min_row_cosine")
            if k in stats
        },
        "stages": {name: {"seconds": s} for name, s in timer.seconds.items()},
        "total_seconds": round(sum(timer.seconds.values()), 1),
        "config": config_to_dict(config),
    }
    with atomic_write(out / "report.json") as handle:
        json.dump(report, handle, indent=2)

    per_class = sorted(result.per_class.items(), key=lambda kv: -train_counts.get(kv[0], 0))
    document = doc.Document("avaloc quickstart report").add(
        doc.Paragraph(
            f"The report's system (person detector -> SlowFast with RoI head, CP-IA + label "
            f"subsampling, multi-scale test) on the synthetic '{config.synth.preset}' preset "
            f"(seed {config.synth.seed}), in the slim CPU configuration. Data: {data_dir}."
        ),
        doc.Heading("Result"),
        doc.Table(
            ["measure", "value"],
            [
                ["frame-mAP@0.5 (val, official protocol)", result.mAP],
                [
                    "chance: same boxes, action scores shuffled (mean of 5)",
                    outcome.chance[0],
                ],
                ["person boxes kept: detector score at least", config.predict.score_threshold],
                ["best frame-mAP of the threshold sweep", _best_sweep_text(sweep)],
                ["test scales", ", ".join(map(str, config.predict.scales))],
                ["person AP@0.5 of the detector (val)", detector_figures["person_ap50"]],
                ["best fine-tuning val mAP (GT boxes)", finetuned.best_metric],
                ["total minutes", report["total_seconds"] / 60],
            ],
        ),
        doc.Heading("Per-class AP (Figure 1 style)"),
        doc.Image(out / "figures" / "per_class_ap.png", "per-class AP on val"),
        doc.Table(
            ["id", "class", "train instances", "val GT", "AP"],
            [[c, r.name, train_counts.get(c, 0), r.num_gt, r.ap] for c, r in per_class],
        ),
        doc.Heading("Co-occurrence before and after CP-IA (Figure 2 style)"),
        doc.Image(out / "stats" / "figure2_cooccurrence.png", "class co-occurrence, log10"),
        doc.Heading("Detector threshold sweep (Table 1 style)"),
        doc.Table(
            ["detector score >=", "frame-mAP", "person boxes"],
            [[p.threshold, p.mAP, p.boxes] for p in sweep],
        ),
        doc.Image(out / "figures" / "threshold_sweep.png", "frame-mAP vs detector threshold"),
        doc.Heading("Training curves"),
        *[doc.Image(path, f"fine-tuning: {path.stem}") for path in curves],
        *[doc.Image(path, f"pre-training: {path.stem}") for path in pre_curves],
        doc.Heading("Time per stage"),
        doc.Table(["stage", "seconds"], [[k, v] for k, v in timer.seconds.items()]),
    )
    document.write(out / "report.md")
    return report


def read_report(out_dir: str | Path) -> dict[str, Any]:
    path = Path(out_dir) / "report.json"
    if not path.is_file():
        raise InputError("no quickstart report here", path=path)
    return json.loads(path.read_text(encoding="utf-8"))
