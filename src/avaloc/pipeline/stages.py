"""The stages of the end-to-end jobs (quickstart, ablation), each a function of files in, files out.

Every stage resumes: the data set is reused when its manifest matches, and the training stages
continue from their latest checkpoint when re-run into the same folder.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avaloc.detect import DetectorConfig
from avaloc.engine import RunConfig


@dataclass
class StageTimer:
    """Wall-clock seconds per stage, in order; printed as the run goes."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        print(f"[quickstart] {name} ...", flush=True)
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)
        print(f"[quickstart] {name} done in {self.seconds[name]:.1f} s", flush=True)


def synthesize(out: Path, settings: Any) -> Path:
    from avaloc.synthetic import generate_dataset
    from avaloc.synthetic.dataset import MANIFEST

    data_dir = out / "data"
    manifest = data_dir / MANIFEST
    if manifest.is_file():
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        if saved.get("preset", {}).get("name") == settings.preset and saved.get("seed") == (
            settings.seed
        ):
            print(f"[quickstart] reusing the synthetic '{settings.preset}' set in {data_dir}")
            return data_dir
    return generate_dataset(data_dir, settings.preset, settings.seed, overwrite=True)


def balance_stats(data_dir: Path, out: Path, finetune: RunConfig) -> dict[str, Any]:
    from avaloc.balance.report import write_balance_report
    from avaloc.formats import group_instances, read_ground_truth, read_label_map

    label_map = read_label_map(data_dir / "annotations" / "label_map.pbtxt")
    rows = read_ground_truth(data_dir / "annotations" / "train.csv", label_ids=label_map.ids)
    report = write_balance_report(
        group_instances(rows),
        label_map.ids,
        dict(label_map.names),
        out / "stats",
        finetune.balance,
        source="synthetic train",
    )
    return report.stats


def train_person_detector(data_dir: Path, out: Path, cfg: DetectorConfig):
    from avaloc.detect import train_detector
    from avaloc.formats import read_ground_truth

    rows = read_ground_truth(data_dir / "annotations" / "train.csv")
    return train_detector(cfg, rows, data_dir / "videos", out / "detector", resume=True)


def write_proposals(data_dir: Path, out: Path, weights: Path) -> tuple[Path, dict[str, float]]:
    from avaloc.detect import TorchvisionDetector, detect_keyframes
    from avaloc.detect.train import load_trained_detector
    from avaloc.evaluation import person_ap
    from avaloc.formats import read_ground_truth, write_detections

    model, cfg = load_trained_detector(weights)
    detector = TorchvisionDetector(model, batch_size=cfg.batch_size, min_score=cfg.score_threshold)
    gt = read_ground_truth(data_dir / "annotations" / "val.csv")
    keyframes = sorted(set(zip(gt["video_id"], gt["timestamp"].astype(int))))
    detections = detect_keyframes(detector, keyframes, data_dir / "videos")
    path = out / "proposals" / "val_detections.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_detections(detections, path, score_decimals=6)
    person_gt = gt.drop_duplicates(["video_id", "timestamp", "x1", "y1", "x2", "y2"])
    ap = float(person_ap(person_gt, detections, iou_threshold=0.5))
    above = detections[detections["score"] >= cfg.downstream_threshold]
    ap_above = float(person_ap(person_gt, above, iou_threshold=0.5))
    return path, {
        "person_ap50": ap,
        f"person_ap50_above_{cfg.downstream_threshold:g}": ap_above,
        "boxes": len(detections),
        "keyframes": len(keyframes),
    }


def train_action_model(config: RunConfig, run_dir: Path):
    from avaloc.engine import train

    return train(config, run_dir, resume=True)


def with_data_root(config: RunConfig, data_dir: Path) -> RunConfig:
    config.data.root = str(data_dir)
    return config
