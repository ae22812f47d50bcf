"""Fine-tuning (or training from scratch) a person detector on AVA-format person boxes.

Every distinct person box of a ground-truth keyframe is a target of class "person" (the action
labels are ignored). Augmentation: horizontal flips and scale jitter (the shorter side drawn from
``train.train_min_sizes`` each iteration). SGD with momentum, linear warm-up and step decay.

The run directory follows the action engine's conventions::

    RUN_DIR/config.yaml                      the resolved DetectorConfig
    RUN_DIR/metrics.jsonl                    {"kind": "train", "step", "loss", ...} records
    RUN_DIR/checkpoints/step_00000200.pt     periodic, atomic, the last two kept; resume point
    RUN_DIR/detector.pt                      the final weights (``weights=`` for predict)

All randomness derives from ``(train.seed, stream, iteration)``, so a resumed run draws the same
batches and augmentations as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from torchvision.models.detection import FasterRCNN
from tqdm import tqdm

from avaloc.config import config_to_dict, load_config, save_config
from avaloc.detect.config import DetectorConfig, validate_detector_config
from avaloc.detect.inference import find_video
from avaloc.detect.models import (
    CHECKPOINT_FORMAT,
    build_detector,
    detector_checkpoint,
    load_detector_weights,
)
from avaloc.errors import InputError
from avaloc.fileio import atomic_path, atomic_write
from avaloc.formats import group_instances
from avaloc.seeding import numpy_generator
from avaloc.video import open_video

METRICS_FILE = "metrics.jsonl"
FINAL_WEIGHTS = "detector.pt"
_STEP_NAME = re.compile(r"^step_(\d{8,})\.pt$")
_KEEP_CHECKPOINTS = 2
_SAMPLE_STREAM, _AUGMENT_STREAM, _MODEL_STREAM, _INIT_STREAM = 0, 1, 2, 3


class PersonBoxes:
    """Keyframes with their person boxes (normalized), with an optional in-memory frame cache."""

    def __init__(
        self, ground_truth: pd.DataFrame, video_dir: str | os.PathLike, *, cache_mb: int = 0
    ) -> None:
        instances = group_instances(ground_truth)
        if len(instances) == 0:
            raise InputError("the ground truth has no person boxes to train on")
        self.video_dir = Path(video_dir)
        self.keyframes: list[tuple[str, int]] = []
        self.boxes: list[np.ndarray] = []
        for key, span in instances.keyframe_slices():
            self.keyframes.append(key)
            self.boxes.append(instances.boxes[span].astype(np.float32))
        self._paths = {v: find_video(self.video_dir, v) for v in {k[0] for k in self.keyframes}}
        self._cache: dict[int, np.ndarray] = {}
        self._cache_bytes = 0
        self._cache_limit = cache_mb * 2**20

    def __len__(self) -> int:
        return len(self.keyframes)

    def frame(self, index: int) -> np.ndarray:
        """The RGB keyframe ``index`` (H, W, 3) uint8."""
        if index in self._cache:
            return self._cache[index]
        video_id, timestamp = self.keyframes[index]
        frame = open_video(self._paths[video_id]).read_keyframe(timestamp)
        if self._cache_bytes + frame.nbytes <= self._cache_limit:
            self._cache[index] = frame
            self._cache_bytes += frame.nbytes
        return frame


@dataclass(frozen=True)
class TrainSummary:
    """What a training run did: iterations, time, the last logged loss, the weights written."""

    iterations: int
    seconds: float
    final_loss: float
    weights: Path
    stopped_early: bool

    def line(self) -> str:
        stop = " (time budget reached)" if self.stopped_early else ""
        return (
            f"trained {self.iterations} iterations in {self.seconds / 60:.1f} min{stop}, "
            f"last loss {self.final_loss:.4f} -> {self.weights}"
        )


def _learning_rate(cfg: DetectorConfig, iteration: int) -> float:
    train = cfg.train
    factor = 1.0
    if iteration < train.warmup_iters:
        alpha = iteration / max(train.warmup_iters, 1)
        factor = train.warmup_factor * (1 - alpha) + alpha
    passed = sum(iteration >= round(step * train.max_iters) for step in train.lr_steps)
    return train.base_lr * factor * train.lr_decay**passed


class _BatchSampler:
    """Batches of a stream of per-epoch permutations, a pure function of the iteration."""

    def __init__(self, num_items: int, batch_size: int, seed: int) -> None:
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {
                epoch: numpy_generator(self.seed, _SAMPLE_STREAM, epoch).permutation(
                    self.num_items
                ),
                **{k: v for k, v in self._perms.items() if k >= epoch - 1},
            }
        return self._perms[epoch]

    def batch(self, iteration: int) -> list[int]:
        positions = range(iteration * self.batch_size, (iteration + 1) * self.batch_size)
        return [int(self._perm(p // self.num_items)[p % self.num_items]) for p in positions]


def make_training_batch(
    data: PersonBoxes, indices: list[int], cfg: DetectorConfig, iteration: int
) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]], int]:
    """Images, targets (pixel boxes, label 1) and the drawn min size for one iteration."""
    generator = numpy_generator(cfg.train.seed, _AUGMENT_STREAM, iteration)
    min_size = int(generator.choice(cfg.train.train_min_sizes))
    images, targets = [], []
    for index in indices:
        frame = data.frame(index)
        height, width = frame.shape[:2]
        boxes = data.boxes[index] * np.array([width, height, width, height], dtype=np.float32)
        if generator.random() < cfg.train.hflip_prob:
            frame = frame[:, ::-1]
            boxes = np.stack(
                [width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], axis=1
            )
        images.append(
            torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float().div_(255.0)
        )
        targets.append(
            {
                "boxes": torch.from_numpy(boxes.astype(np.float32)),
                "labels": torch.ones(len(boxes), dtype=torch.int64),
            }
        )
    return images, targets, min_size


def training_step(
    model: FasterRCNN,
    optimizer: torch.optim.Optimizer,
    images: list[torch.Tensor],
    targets: list[dict[str, torch.Tensor]],
    *,
    min_size: int,
    model_seed: int,
    clip_grad_norm: float = 0.0,
) -> dict[str, float]:
    """One SGD step; returns the loss terms. The model's own sampling (RPN/RoI) uses a forked
    RNG seeded with ``model_seed``, so the global RNG state is left as it was."""
    model.train()
    model.transform.min_size = (min_size,)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(model_seed)
        losses = model(images, targets)
    total = sum(losses.values())
    if not torch.isfinite(total):
        raise FloatingPointError(f"non-finite detector loss {float(total)}; lower train.base_lr")
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    if clip_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(
            [p for p in model.parameters() if p.requires_grad], clip_grad_norm
        )
    optimizer.step()
    return {"loss": total.item(), **{k: v.item() for k, v in losses.items()}}


def make_optimizer(model: FasterRCNN, cfg: DetectorConfig) -> torch.optim.SGD:
    return torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=cfg.train.base_lr,
        momentum=cfg.train.momentum,
        weight_decay=cfg.train.weight_decay,
    )


# ----------------------------------------------------------------------------- run directory
def _checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_NAME.match(p.name))]
    return sorted(found)


def _save(path: Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _read_metrics(run_dir: Path, up_to_step: int) -> list[dict[str, Any]]:
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return [r for r in records if r.get("kind") == "train" and r.get("step", 0) <= up_to_step]


def _write_metrics(run_dir: Path, records: list[dict[str, Any]]) -> None:
    with atomic_write(run_dir / METRICS_FILE) as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    """A detector training checkpoint (weights_only); InputError if it is not one."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError("checkpoint not found", path=path) from None
    except Exception as exc:
        raise InputError(
            f"cannot load checkpoint ({str(exc).splitlines()[0][:200]})", path=path
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError("not an avaloc detector checkpoint", path=path)
    return state


def config_from_checkpoint(state: dict[str, Any]) -> DetectorConfig:
    return validate_detector_config(load_config(DetectorConfig, data=state["detector_config"]))


def train_detector(
    cfg: DetectorConfig,
    ground_truth: pd.DataFrame,
    video_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    resume: bool = True,
    progress: bool = True,
) -> TrainSummary:
    """Train ``cfg``'s detector on the person boxes of ``ground_truth`` (videos in ``video_dir``).

    With ``resume`` and a checkpoint in ``run_dir``, continues from it (the run's own config
    and weights win over ``cfg``'s; ``train.max_iters`` and ``train.time_budget_s`` of ``cfg``
    apply, so a finished run can be extended). ``resume=False`` deletes the old checkpoints.
    """
    validate_detector_config(cfg)
    if cfg.backbone == "hog":
        raise InputError("the HOG detector has fixed weights and cannot be trained", key="backbone")
    run_dir = Path(run_dir)
    found = _checkpoints(run_dir)
    if not resume:  # starting over: old checkpoints would otherwise outrank the new ones
        for _, old in found:
            old.unlink()
        found = []
    state: dict[str, Any] | None = load_training_state(found[-1][1]) if found else None
    if state is not None:
        saved = config_from_checkpoint(state)
        saved.train.max_iters = cfg.train.max_iters
        saved.train.time_budget_s = cfg.train.time_budget_s
        cfg = saved
        model = build_detector(cfg, load_weights=False)
        model.load_state_dict(state["model_state"])
        start = int(state["iteration"])
    else:
        # Random initialisation from (seed, init stream), not from the global RNG state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(numpy_generator(cfg.train.seed, _INIT_STREAM).integers(2**62)))
            model = build_detector(cfg)
        start = 0
    optimizer = make_optimizer(model, cfg)
    if state is not None:
        optimizer.load_state_dict(state["optimizer_state"])
    data = PersonBoxes(ground_truth, video_dir, cache_mb=cfg.train.frame_cache_mb)
    sampler = _BatchSampler(len(data), cfg.train.batch_size, cfg.train.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    records = _read_metrics(run_dir, start)
    cfg_dict = config_to_dict(cfg)
    elapsed_before = float(state.get("seconds", 0.0)) if state is not None else 0.0
    began = time.perf_counter()
    window: list[float] = []
    last_loss = math.nan
    iteration = start
    stopped_early = False

    def checkpoint(step: int) -> None:
        seconds = elapsed_before + time.perf_counter() - began
        payload = detector_checkpoint(
            model,
            cfg_dict,
            optimizer_state=optimizer.state_dict(),
            iteration=step,
            seconds=seconds,
        )
        _save(run_dir / "checkpoints" / f"step_{step:08d}.pt", payload)
        for _, old in _checkpoints(run_dir)[:-_KEEP_CHECKPOINTS]:
            old.unlink(missing_ok=True)
        _write_metrics(run_dir, records)

    bar = tqdm(
        total=cfg.train.max_iters,
        initial=start,
        desc="detect train",
        unit="it",
        disable=not progress,
    )
    with bar:
        for iteration in range(start, cfg.train.max_iters):
            lr = _learning_rate(cfg, iteration)
            for group in optimizer.param_groups:
                group["lr"] = lr
            tic = time.perf_counter()
            images, targets, min_size = make_training_batch(
                data, sampler.batch(iteration), cfg, iteration
            )
            model_seed = int(
                numpy_generator(cfg.train.seed, _MODEL_STREAM, iteration).integers(2**62)
            )
            losses = training_step(
                model,
                optimizer,
                images,
                targets,
                min_size=min_size,
                model_seed=model_seed,
                clip_grad_norm=cfg.train.clip_grad_norm,
            )
            window.append(losses["loss"])
            bar.update(1)
            step = iteration + 1
            if step % cfg.train.log_every == 0 or step == cfg.train.max_iters:
                last_loss = float(np.mean(window))
                records.append(
                    {
                        "kind": "train",
                        "step": step,
                        "lr": lr,
                        **losses,
                        "loss": last_loss,
                        "sec_per_iter": time.perf_counter() - tic,
                    }
                )
                window = []
                bar.set_postfix(loss=f"{last_loss:.3f}", lr=f"{lr:.2g}")
            if cfg.train.checkpoint_every and step % cfg.train.checkpoint_every == 0:
                checkpoint(step)
            spent = time.perf_counter() - began
            if cfg.train.time_budget_s and spent >= cfg.train.time_budget_s:
                stopped_early = step < cfg.train.max_iters
                iteration = step
                break
        else:
            iteration = cfg.train.max_iters
    if window:
        last_loss = float(np.mean(window))
    if not _checkpoints(run_dir) or _checkpoints(run_dir)[-1][0] != iteration:
        checkpoint(iteration)
    seconds = elapsed_before + time.perf_counter() - began
    weights = run_dir / FINAL_WEIGHTS
    _save(weights, detector_checkpoint(model, cfg_dict, iteration=iteration, seconds=seconds))
    summary = TrainSummary(iteration, seconds, last_loss, weights, stopped_early)
    records.append({"kind": "summary", "step": iteration, "seconds": seconds, "loss": last_loss})
    _write_metrics(run_dir, records)
    return summary


def _is_detector_checkpoint(path: str | os.PathLike) -> bool:
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception:  # not ours; load_detector_weights reports what is wrong with it
        return False
    return isinstance(state, dict) and state.get("format") == CHECKPOINT_FORMAT


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_detector_config(
    config_path: str | os.PathLike | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    weights: str | os.PathLike | None = None,
) -> DetectorConfig:
    """Defaults <- the config inside an avaloc ``weights`` file <- YAML <- ``key=value``.

    A detector trained by avaloc thus predicts with its own architecture and image size unless
    told otherwise; other weights files (torchvision COCO) only set ``weights``.
    """
    overrides = [*overrides, *([f"weights={os.fspath(weights)}"] if weights else [])]
    cfg = load_config(DetectorConfig, config_path, overrides)
    if weights and Path(weights).is_file() and _is_detector_checkpoint(weights):
        saved = load_training_state(weights)["detector_config"]
        saved = {**saved, "backbone_weights": None}
        user: dict[str, Any] = {}
        if config_path is not None:
            with open(config_path, encoding="utf-8") as handle:
                user = yaml.safe_load(handle) or {}
        cfg = load_config(DetectorConfig, None, overrides, data=_merge(saved, user))
    return validate_detector_config(cfg)


def load_trained_detector(path: str | os.PathLike) -> tuple[FasterRCNN, DetectorConfig]:
    """A detector and its config from an avaloc detector file (``detector.pt`` or a checkpoint)."""
    state = load_training_state(path)
    cfg = config_from_checkpoint(state)
    model = build_detector(cfg, load_weights=False)
    load_detector_weights(model, path)
    return model, cfg
