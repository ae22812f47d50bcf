"""Prediction with test-time ensembles, AVA result files and resumable runs.

The report's test-time recipe averages per-box class probabilities (sigmoid of the logits)

* over test scales and horizontal flips of the same keyframe (the scale ensemble, "SE"), and
* over checkpoints (the model ensemble, "ME"), optionally weighted.

All averaging is linear, so the result is ``sum_m w_m * mean_v sigmoid(model_m(view_v))`` with
the weights ``w`` normalised to sum 1 and ``v`` running over every (scale, flip) view.

A *model* here is any callable ``model([slow, fast], boxes) -> logits (K, C)`` with ``boxes``
``(K, 5) = [batch_index, x1, y1, x2, y2]`` in input pixels: a PyTorch detection model, or the
onnxruntime wrapper of :mod:`avaloc.engine.export`.

Result files are AVA prediction CSVs in PySlowFast's formats (``%04d`` timestamps, ``%.3f``
boxes, ``%.4f`` scores). A run writes one part file per finished video beside the output, so an
interrupted run resumes from the last complete video; the output itself is written atomically
once every video is done, and is byte-identical to the output of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from avaloc.errors import InputError
from avaloc.fileio import atomic_write
from avaloc.formats import BOX_COLUMNS, DETECTION_COLUMNS, write_detections

Model = Callable[[list[torch.Tensor], torch.Tensor], torch.Tensor]
Keyframe = tuple[str, int]

BOX_DECIMALS = 3  # PySlowFast's ava_eval_helper.write_results: "%.03f" boxes
SCORE_DECIMALS = 4  # ... and "%.04f" scores
PARTS_SUFFIX = ".parts"
DET_SCORES_SUFFIX = ".det_scores.csv"


# ----------------------------------------------------------------------------- ensemble core
def normalized_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    """Model weights that sum to 1 (equal weights when ``weights`` is None)."""
    if count < 1:
        raise InputError("at least one model is needed", key="checkpoints")
    if weights is None:
        return [1.0 / count] * count
    if len(weights) != count:
        raise InputError(
            f"{len(weights)} model weights given for {count} models", key="model_weights"
        )
    values = [float(w) for w in weights]
    if any(not np.isfinite(w) or w < 0 for w in values) or sum(values) <= 0:
        raise InputError(
            f"model weights must be finite, >= 0 and not all 0, got {values}", key="model_weights"
        )
    total = sum(values)
    return [w / total for w in values]


def flip_clip(
    inputs: Sequence[torch.Tensor], boxes: torch.Tensor
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Mirror every pathway left-right and the boxes with them (``x -> W - x``).

    Boxes are in continuous pixel coordinates (the frame spans ``[0, W]``, as RoIAlign with
    ``aligned=True`` reads them), so the mirror of ``[x1, x2]`` is ``[W - x2, W - x1]`` exactly.
    """
    width = inputs[0].shape[-1]
    flipped = [pathway.flip(-1) for pathway in inputs]
    mirrored = boxes.clone()
    mirrored[:, 1] = width - boxes[:, 3]
    mirrored[:, 3] = width - boxes[:, 1]
    return flipped, mirrored


def ensemble_probabilities(
    models: Sequence[Model],
    weights: Sequence[float],
    views: Sequence[tuple[Sequence[torch.Tensor], torch.Tensor]],
) -> torch.Tensor:
    """``sum_m weights[m] * mean_v sigmoid(models[m](views[v]))``, shape (K, C), float32.

    Every view holds the same K boxes in the same order (the same keyframes at another scale or
    mirrored); ``weights`` must already be normalised.
    """
    total: torch.Tensor | None = None
    for model, weight in zip(models, weights):
        for inputs, boxes in views:
            logits = model(list(inputs), boxes)
            if logits.ndim != 2 or logits.shape[0] != boxes.shape[0]:
                raise RuntimeError(
                    f"a model returned logits of shape {tuple(logits.shape)} for "
                    f"{boxes.shape[0]} boxes; expected ({boxes.shape[0]}, num_classes)"
                )
            term = torch.sigmoid(logits.float()) * (weight / len(views))
            total = term if total is None else total + term
    assert total is not None
    return total


# ----------------------------------------------------------------------------- batches
@dataclass(frozen=True)
class BoxPredictions:
    """Class probabilities of person boxes, one row per box (keyframe order, then box order)."""

    video_ids: np.ndarray  # (K,) object
    timestamps: np.ndarray  # (K,) int64
    boxes: np.ndarray  # (K, 4) float64, normalized x1 y1 x2 y2
    box_scores: np.ndarray  # (K,) float64, detector score of each box (1.0 for GT boxes)
    probs: np.ndarray  # (K, C) float32

    def __len__(self) -> int:
        return len(self.timestamps)

    @staticmethod
    def concat(parts: Sequence[BoxPredictions], num_classes: int) -> BoxPredictions:
        if not parts:
            return BoxPredictions(
                np.zeros(0, dtype=object),
                np.zeros(0, dtype=np.int64),
                np.zeros((0, 4)),
                np.zeros(0),
                np.zeros((0, num_classes), dtype=np.float32),
            )
        return BoxPredictions(
            np.concatenate([p.video_ids for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.box_scores for p in parts]),
            np.concatenate([p.probs for p in parts]),
        )

    def select(self, mask: np.ndarray) -> BoxPredictions:
        return BoxPredictions(
            self.video_ids[mask],
            self.timestamps[mask],
            self.boxes[mask],
            self.box_scores[mask],
            self.probs[mask],
        )

    def to_rows(self, class_ids: Sequence[int], keep: Sequence[int] | None = None) -> pd.DataFrame:
        """AVA prediction rows: one per (box, class), class ``k`` written as ``class_ids[k]``.

        ``keep`` (action ids) writes only those classes, e.g. the 60 of the ActivityNet list.
        """
        count, classes = self.probs.shape
        if classes != len(class_ids):
            raise InputError(
                f"the model predicts {classes} classes but the label map has {len(class_ids)}",
                key="label_map",
            )
        ids = np.asarray(class_ids, dtype=np.int64)
        columns = np.arange(classes) if keep is None else np.flatnonzero(np.isin(ids, keep))
        box_index = np.repeat(np.arange(count), len(columns))
        return pd.DataFrame(
            {
                "video_id": self.video_ids[box_index],
                "timestamp": self.timestamps[box_index],
                **{c: self.boxes[box_index, k] for k, c in enumerate(BOX_COLUMNS)},
                "action_id": np.tile(ids[columns], count),
                "score": self.probs[:, columns].reshape(-1).astype(np.float64),
            },
            columns=DETECTION_COLUMNS,
        )

    def box_rows(self) -> pd.DataFrame:
        """One class-agnostic detection row per box with its detector score (threshold sweep)."""
        return pd.DataFrame(
            {
                "video_id": self.video_ids,
                "timestamp": self.timestamps,
                **{c: self.boxes[:, k] for k, c in enumerate(BOX_COLUMNS)},
                "action_id": np.full(len(self), -1, dtype=np.int64),
                "score": self.box_scores.astype(np.float64),
            },
            columns=DETECTION_COLUMNS,
        )


def _as_numpy(value: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=dtype)


def box_metadata(batch: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(video_ids, timestamps, normalized boxes, detector scores) per box of a collated batch.

    ``metadata["video_id"]`` and ``["timestamp"]`` hold one entry per clip; each box finds its
    clip through the batch index in column 0 of ``boxes``.
    """
    boxes = batch["boxes"]
    metadata = batch["metadata"]
    clip_of_box = _as_numpy(boxes[:, 0]).round().astype(np.int64)
    clip_video = np.asarray(list(metadata["video_id"]), dtype=object)
    clip_time = _as_numpy(list(metadata["timestamp"]), np.int64)
    num_boxes = boxes.shape[0]
    norm_boxes = _as_numpy(metadata["norm_boxes"], np.float64).reshape(num_boxes, 4)
    scores = metadata.get("box_scores")
    box_scores = (
        np.ones(num_boxes) if scores is None else _as_numpy(scores, np.float64).reshape(num_boxes)
    )
    return clip_video[clip_of_box], clip_time[clip_of_box], norm_boxes, box_scores


class MultiScaleView(Dataset):
    """Item ``i`` is the tuple of item ``i`` of every per-scale dataset (same keyframe)."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        if not datasets:
            raise ValueError("at least one dataset (one per test scale) is needed")
        lengths = {len(d) for d in datasets}  # type: ignore[arg-type]
        if len(lengths) != 1:
            raise ValueError(f"per-scale datasets differ in length: {sorted(lengths)}")
        self.datasets = list(datasets)

    def __len__(self) -> int:
        return len(self.datasets[0])  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(dataset[index] for dataset in self.datasets)


class MultiScaleCollate:
    """Collate each scale separately (a top-level class so that workers can pickle it)."""

    def __init__(self, collate: Callable[[list[Any]], Any]) -> None:
        self.collate = collate

    def __call__(self, items: list[tuple[Any, ...]]) -> list[Any]:
        return [self.collate(list(per_scale)) for per_scale in zip(*items)]


def plan_batches(
    keyframes: Sequence[Keyframe],
    batch_size: int,
    frame_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> list[list[int]]:
    """Sample indices in batches: keyframes of one frame size only, in video then time order.

    Videos of the same frame size share batches (bucketing: clips of one batch stack into one
    tensor); with ``frame_sizes`` None all videos are taken as one size. The plan depends only on
    the keyframe list, so a resumed run recomputes exactly the batches of an uninterrupted one.
    """
    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}", key="batch_size")
    order = sorted(range(len(keyframes)), key=lambda i: (keyframes[i][0], keyframes[i][1]))
    buckets: dict[tuple[int, int], list[int]] = {}
    for index in order:
        video_id = keyframes[index][0]
        size = (0, 0) if frame_sizes is None else tuple(frame_sizes[video_id])
        buckets.setdefault(size, []).append(index)  # type: ignore[arg-type]
    batches: list[list[int]] = []
    for indices in buckets.values():
        batches.extend(indices[i : i + batch_size] for i in range(0, len(indices), batch_size))
    return batches


class _BatchList(torch.utils.data.Sampler[list[int]]):
    def __init__(self, batches: Sequence[Sequence[int]]) -> None:
        self.batches = [list(b) for b in batches]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def _default_collate() -> Callable[[list[Any]], Any]:
    from avaloc.data import collate_detection

    return collate_detection


def predict_batches(
    models: Sequence[Model],
    weights: Sequence[float] | None,
    dataset_per_scale: Sequence[Dataset],
    batches: Sequence[Sequence[int]],
    *,
    flip: bool = False,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    num_workers: int = 0,
    device: str | torch.device = "cpu",
) -> Iterator[tuple[list[int], BoxPredictions]]:
    """Yield ``(sample indices, predictions of their boxes)`` for each planned batch.

    ``dataset_per_scale[s][i]`` is keyframe ``i`` at test scale ``s`` (short side resized, full
    frame); every scale must give the same boxes. Each batch is run through every model at every
    scale, and mirrored too with ``flip``; probabilities are averaged as in the module docstring.
    """
    weights = normalized_weights(weights, len(models))
    collate = collate_fn if collate_fn is not None else _default_collate()
    loader = DataLoader(
        MultiScaleView(dataset_per_scale),
        batch_sampler=_BatchList(batches),
        collate_fn=MultiScaleCollate(collate),
        num_workers=num_workers,
        persistent_workers=False,
    )
    device = torch.device(device)
    for module in models:
        if isinstance(module, torch.nn.Module):
            module.eval()
    with torch.inference_mode():
        for indices, per_scale in zip(batches, loader):
            video_ids, timestamps, norm_boxes, box_scores = box_metadata(per_scale[0])
            views: list[tuple[list[torch.Tensor], torch.Tensor]] = []
            for scale_index, batch in enumerate(per_scale):
                _check_same_boxes(per_scale[0], batch, scale_index)
                inputs = [pathway.to(device) for pathway in batch["inputs"]]
                boxes = batch["boxes"].to(device=device, dtype=torch.float32)
                views.append((inputs, boxes))
                if flip:
                    views.append(flip_clip(inputs, boxes))
            probs = ensemble_probabilities(models, weights, views).cpu().numpy()
            yield (
                list(indices),
                BoxPredictions(video_ids, timestamps, norm_boxes, box_scores, probs),
            )


def _check_same_boxes(reference: Mapping[str, Any], batch: Mapping[str, Any], scale: int) -> None:
    expected = _as_numpy(reference["metadata"]["norm_boxes"], np.float64)
    found = _as_numpy(batch["metadata"]["norm_boxes"], np.float64)
    same = expected.shape == found.shape and np.allclose(expected, found, atol=1e-6)
    if not same or not torch.equal(reference["boxes"][:, 0], batch["boxes"][:, 0]):
        raise RuntimeError(
            f"test scale #{scale} yields other boxes than scale #0 for the same keyframes; "
            "the per-scale datasets must share one sample list and box source"
        )


def predict_keyframes(
    models: Sequence[Model],
    weights: Sequence[float] | None,
    dataset_per_scale: Sequence[Dataset],
    flip: bool = False,
    *,
    keyframes: Sequence[Keyframe] | None = None,
    batch_size: int = 1,
    frame_sizes: Mapping[str, tuple[int, int]] | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    num_workers: int = 0,
    device: str | torch.device = "cpu",
    num_classes: int | None = None,
) -> BoxPredictions:
    """All keyframes' box probabilities with the scale/flip/model ensemble, in memory.

    ``keyframes`` (the dataset's sample list) enables batching across keyframes; without it every
    keyframe is its own batch. For long runs with files and resume use :func:`predict_to_csv`.
    """
    if keyframes is None:
        batches = [[i] for i in range(len(dataset_per_scale[0]))]  # type: ignore[arg-type]
    else:
        batches = plan_batches(keyframes, batch_size, frame_sizes)
    parts = [
        predictions
        for _, predictions in predict_batches(
            models,
            weights,
            dataset_per_scale,
            batches,
            flip=flip,
            collate_fn=collate_fn,
            num_workers=num_workers,
            device=device,
        )
    ]
    return BoxPredictions.concat(parts, num_classes or 0)


# ----------------------------------------------------------------------------- result files
def write_predictions(
    predictions: BoxPredictions,
    path: str | os.PathLike,
    class_ids: Sequence[int],
    *,
    score_decimals: int = SCORE_DECIMALS,
    det_scores_path: str | os.PathLike | None = None,
) -> None:
    """Write an AVA prediction CSV (atomically), plus optionally the boxes' detector scores."""
    write_detections(
        predictions.to_rows(class_ids),
        path,
        box_decimals=BOX_DECIMALS,
        score_decimals=score_decimals,
    )
    if det_scores_path is not None:
        write_detections(
            predictions.box_rows(), det_scores_path, box_decimals=BOX_DECIMALS, score_decimals=6
        )


def det_scores_path_for(out: str | os.PathLike) -> Path:
    """``PRED.csv`` -> ``PRED.det_scores.csv`` (the sidecar with one row per box)."""
    out = Path(out)
    name = out.name
    for suffix in (".csv.gz", ".csv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(name + DET_SCORES_SUFFIX)


@dataclass(frozen=True)
class PredictionSummary:
    """The figures of a prediction run (printed as its last line)."""

    keyframes: int
    boxes: int
    seconds: float
    views: int
    models: int
    resumed_videos: int = 0

    @property
    def keyframes_per_second(self) -> float:
        return self.keyframes / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        resumed = (
            f", {self.resumed_videos} video(s) taken from a previous run"
            if self.resumed_videos
            else ""
        )
        return (
            f"predicted {self.keyframes} keyframes, {self.boxes} boxes with {self.models} "
            f"model(s) x {self.views} view(s) in {self.seconds:.1f} s "
            f"({self.keyframes_per_second:.2f} keyframes/s){resumed}"
        )


class _Parts:
    """The per-video part files of a run, beside the output: ``PRED.csv.parts/``."""

    def __init__(self, out: Path, manifest: Mapping[str, Any]) -> None:
        self.dir = out.with_name(out.name + PARTS_SUFFIX)
        self.manifest = dict(manifest)
        self.manifest_path = self.dir / "manifest.json"

    def part(self, video_number: int, kind: str) -> Path:
        return self.dir / f"video-{video_number:06d}.{kind}.csv"

    def start(self, resume: bool) -> None:
        if resume and self.manifest_path.is_file():
            with open(self.manifest_path, encoding="utf-8") as handle:
                previous = json.load(handle)
            if previous != json.loads(json.dumps(self.manifest)):
                changed = sorted(
                    k
                    for k in set(previous) | set(self.manifest)
                    if previous.get(k) != json.loads(json.dumps(self.manifest.get(k)))
                )
                raise InputError(
                    "cannot resume: the run in this folder used other settings "
                    f"({', '.join(changed)}); run without --resume to start over",
                    path=self.dir,
                )
            return
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        with atomic_write(self.manifest_path) as handle:
            json.dump(self.manifest, handle, indent=1, sort_keys=True)

    def done(self, video_number: int, with_det_scores: bool) -> bool:
        return self.part(video_number, "pred").is_file() and (
            not with_det_scores or self.part(video_number, "boxes").is_file()
        )

    def concatenate(self, kind: str, count: int, target: Path) -> None:
        with atomic_write(target) as out:
            for number in range(count):
                with open(self.part(number, kind), encoding="utf-8", newline="") as part:
                    shutil.copyfileobj(part, out)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _fingerprint(path: str | os.PathLike) -> str:
    """Size + mtime + name: cheap identity of a checkpoint for the resume manifest."""
    stat = os.stat(path)
    text = f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def run_manifest(
    settings: Mapping[str, Any], checkpoints: Iterable[str | os.PathLike] = ()
) -> dict:
    """Settings that must be equal for ``--resume`` to continue a run (JSON-serialisable)."""
    manifest = {k: v for k, v in settings.items()}
    manifest["checkpoints"] = [
        {"path": os.fspath(c), "fingerprint": _fingerprint(c)} for c in checkpoints
    ]
    return json.loads(json.dumps(manifest, default=str))


def predict_to_csv(
    models: Sequence[Model],
    weights: Sequence[float] | None,
    dataset_per_scale: Sequence[Dataset],
    keyframes: Sequence[Keyframe],
    out: str | os.PathLike,
    class_ids: Sequence[int],
    *,
    flip: bool = False,
    batch_size: int = 1,
    frame_sizes: Mapping[str, tuple[int, int]] | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    num_workers: int = 0,
    device: str | torch.device = "cpu",
    keep_det_scores: bool = False,
    score_decimals: int = SCORE_DECIMALS,
    output_classes: Sequence[int] | None = None,
    resume: bool = False,
    manifest: Mapping[str, Any] | None = None,
    progress: bool = True,
    on_video_done: Callable[[str], None] | None = None,
) -> PredictionSummary:
    """Predict every keyframe and write the AVA prediction CSV ``out`` (atomically).

    ``keyframes[i]`` is the (video_id, timestamp) of sample ``i`` of every per-scale dataset.
    Each finished video is written to ``out.parts/``; with ``resume`` the videos already there
    are skipped and the batches that mix them with unfinished ones are recomputed, so the final
    file equals an uninterrupted run's. ``manifest`` (see :func:`run_manifest`) guards resume
    against changed settings. ``keep_det_scores`` also writes ``det_scores_path_for(out)``.
    ``output_classes`` (action ids) restricts the rows written to those classes.
    ``on_video_done(video_id)`` is called after each part is written (progress hooks, tests).
    """
    from tqdm import tqdm

    out = Path(out)
    if output_classes is not None and not set(map(int, output_classes)) & set(map(int, class_ids)):
        raise InputError(
            "none of the classes asked for the output are predicted by the model", key="classes"
        )
    start = time.perf_counter()
    videos = sorted({video_id for video_id, _ in keyframes})
    number_of = {video_id: n for n, video_id in enumerate(videos)}
    remaining = {video_id: 0 for video_id in videos}
    for video_id, _ in keyframes:
        remaining[video_id] += 1
    settings = dict(manifest or {})
    settings.update(
        {
            "keyframes": len(keyframes),
            "videos_sha1": hashlib.sha1("\n".join(videos).encode()).hexdigest(),
            "class_ids": [int(c) for c in class_ids],
            "flip": bool(flip),
            "scales": len(dataset_per_scale),
            "models": len(models),
            "weights": normalized_weights(weights, len(models)),
            "score_decimals": score_decimals,
            "output_classes": None if output_classes is None else sorted(map(int, output_classes)),
        }
    )
    parts = _Parts(out, settings)
    parts.start(resume)
    done = {v for v in videos if parts.done(number_of[v], keep_det_scores)}
    batches = [
        batch
        for batch in plan_batches(keyframes, batch_size, frame_sizes)
        if any(keyframes[i][0] not in done for i in batch)
    ]
    resumed_videos = len(done)
    pending: dict[str, list[BoxPredictions]] = {v: [] for v in videos if v not in done}
    todo_keyframes = sum(remaining[v] for v in pending)
    num_boxes = 0
    bar = tqdm(
        total=todo_keyframes,
        unit="keyframe",
        desc="predict",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        for indices, predictions in predict_batches(
            models,
            weights,
            dataset_per_scale,
            batches,
            flip=flip,
            collate_fn=collate_fn,
            num_workers=num_workers,
            device=device,
        ):
            finished: list[str] = []
            for video_id in dict.fromkeys(keyframes[i][0] for i in indices):
                if video_id in done:
                    continue
                pending[video_id].append(predictions.select(predictions.video_ids == video_id))
                count = sum(1 for i in indices if keyframes[i][0] == video_id)
                remaining[video_id] -= count
                bar.update(count)
                if remaining[video_id] == 0:
                    finished.append(video_id)
            for video_id in finished:
                video = _sorted_by_time(
                    BoxPredictions.concat(pending.pop(video_id), len(class_ids))
                )
                number = number_of[video_id]
                if keep_det_scores:
                    write_detections(
                        video.box_rows(), parts.part(number, "boxes"), score_decimals=6
                    )
                write_detections(
                    video.to_rows(class_ids, output_classes),
                    parts.part(number, "pred"),
                    box_decimals=BOX_DECIMALS,
                    score_decimals=score_decimals,
                )
                num_boxes += len(video)
                done.add(video_id)
                if on_video_done is not None:
                    on_video_done(video_id)
    finally:
        bar.close()
    parts.concatenate("pred", len(videos), out)
    if keep_det_scores:
        parts.concatenate("boxes", len(videos), det_scores_path_for(out))
    parts.remove()
    views = len(dataset_per_scale) * (2 if flip else 1)
    return PredictionSummary(
        keyframes=todo_keyframes,
        boxes=num_boxes,
        seconds=time.perf_counter() - start,
        views=views,
        models=len(models),
        resumed_videos=resumed_videos,
    )


def _sorted_by_time(predictions: BoxPredictions) -> BoxPredictions:
    order = np.argsort(predictions.timestamps, kind="stable")
    return predictions.select(order)


# ----------------------------------------------------------------------------- checkpoints -> file
ENGINES = ("pytorch", "onnxruntime")


class TorchPredictor:
    """A PyTorch model run with the models stage's measured inference settings.

    ``precision="auto"``: bf16 autocast + channels_last_3d for full-width models on CPUs with
    native bf16 (2.5-3.4x faster, logits within ~1e-3), plain fp32 otherwise (slim models, or
    ``"fp32"`` for results exactly comparable with PySlowFast).
    """

    def __init__(self, model: torch.nn.Module, precision: str = "auto") -> None:
        from avaloc.models import choose_inference_settings, prepare_for_inference

        self.settings = choose_inference_settings(model, precision)
        self.model = prepare_for_inference(model, self.settings)

    def __call__(self, inputs: Sequence[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        from avaloc.models import predict_logits

        return predict_logits(self.model, inputs, boxes, settings=self.settings)


def load_predictor(
    path: str | os.PathLike,
    engine: str = "pytorch",
    device: str | torch.device = "cpu",
    precision: str = "auto",
) -> tuple[Model, Any, int]:
    """(model, its RunConfig or None, its number of classes) from a checkpoint or ONNX file.

    ``engine="pytorch"`` loads an avaloc checkpoint (run as :class:`TorchPredictor` with
    ``precision``); ``"onnxruntime"`` an ``avaloc export`` ONNX file, whose metadata carries the
    run config of the checkpoint it came from.
    """
    if engine not in ENGINES:
        raise InputError(f"must be one of {', '.join(ENGINES)}, got {engine!r}", key="engine")
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint not found", path=path)
    if engine == "onnxruntime":
        from avaloc.engine.config import run_config_from_dict
        from avaloc.engine.export import OnnxDetector

        detector = OnnxDetector(path)
        stored = detector.metadata.get("run_config")
        return detector, (run_config_from_dict(stored) if stored else None), detector.num_classes
    if path.suffix == ".onnx":
        raise InputError("an ONNX model needs --engine onnxruntime", path=path)
    from avaloc.engine.weights import load_model_from_checkpoint

    model, config = load_model_from_checkpoint(path, map_location=device)
    return TorchPredictor(model.to(device), precision), config, int(config.model.num_classes)


def build_test_datasets(
    data_config: Any,
    split: str,
    scales: Sequence[int],
    *,
    detections: pd.DataFrame | None = None,
    ground_truth: pd.DataFrame | None = None,
    gt_boxes: bool = False,
    score_thresh: float | None = None,
) -> list[Any]:
    """One :class:`~avaloc.data.AvaDataset` per test scale, all with the same keyframes and boxes.

    Boxes: ``detections`` (or the split's detection file) above ``score_thresh`` (default: the
    config's ``test_detection_threshold``), or the ground truth with ``gt_boxes`` (oracle boxes).
    Flips are applied by the predictor, so every dataset is unflipped.
    """
    import dataclasses

    from avaloc.data import AvaDataset

    if not scales:
        raise InputError("at least one test scale is needed", key="scales")
    if any(int(s) < 1 for s in scales):
        raise InputError(f"test scales must be >= 1, got {list(scales)}", key="scales")
    changes: dict[str, Any] = {"test_boxes": "ground_truth" if gt_boxes else "detections"}
    if score_thresh is not None:
        if not 0.0 <= score_thresh <= 1.0:
            raise InputError(f"must be in [0, 1], got {score_thresh}", key="score_thresh")
        changes["test_detection_threshold"] = float(score_thresh)
    config = dataclasses.replace(data_config, **changes)
    first = AvaDataset(
        config,
        split,
        train=False,
        ground_truth=ground_truth,
        detections=detections,
        scale=int(scales[0]),
        flip=False,
    )
    others = [
        AvaDataset(
            config,
            split,
            train=False,
            ground_truth=ground_truth,
            detections=detections,
            label_map=first.label_map,
            scale=int(scale),
            flip=False,
        )
        for scale in scales[1:]
    ]
    return [first, *others]


def predict_split(
    checkpoints: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    config: Any = None,
    split: str = "val",
    scales: Sequence[int] | None = None,
    flip: bool = False,
    weights: Sequence[float] | None = None,
    boxes: str | os.PathLike | None = None,
    score_thresh: float | None = None,
    gt_boxes: bool = False,
    ground_truth: str | os.PathLike | None = None,
    engine: str = "pytorch",
    precision: str = "auto",
    batch_size: int | None = None,
    num_workers: int | None = None,
    device: str = "cpu",
    keep_det_scores: bool = False,
    score_decimals: int = SCORE_DECIMALS,
    output_classes: Sequence[int] | None = None,
    resume: bool = False,
    progress: bool = True,
    on_video_done: Callable[[str], None] | None = None,
) -> PredictionSummary:
    """``avaloc predict``: checkpoints + a split of the dataset -> an AVA prediction CSV.

    ``config`` (a RunConfig) gives the data settings; None takes the first checkpoint's.
    ``scales`` default to the config's ``data.test_scale``; ``boxes`` is a proposals CSV (AVA
    detection format) replacing the split's detection file; ``ground_truth`` a GT CSV replacing
    the split's annotations (oracle boxes with ``gt_boxes``).
    """
    from avaloc.formats import read_detections, read_ground_truth

    if not checkpoints:
        raise InputError("at least one checkpoint is needed", key="checkpoint")
    loaded = [load_predictor(path, engine, device, precision) for path in checkpoints]
    models = [model for model, _, _ in loaded]
    if config is None:
        config = loaded[0][1]
        if config is None:
            raise InputError(
                "this ONNX model carries no run config: pass --config", path=checkpoints[0]
            )
    data_config = config.data
    scales = list(scales) if scales else [int(data_config.test_scale)]
    detections = read_detections(boxes) if boxes is not None else None
    gt_rows = None
    if ground_truth is not None:
        from avaloc.formats import read_label_map

        label_ids = read_label_map(data_config.path(data_config.label_map)).ids
        gt_rows = read_ground_truth(ground_truth, label_ids=label_ids, on_unknown_action="skip")
    datasets = build_test_datasets(
        data_config,
        split,
        scales,
        detections=detections,
        ground_truth=gt_rows,
        gt_boxes=gt_boxes,
        score_thresh=score_thresh,
    )
    class_ids = list(datasets[0].class_ids)
    for path, (_, _, classes) in zip(checkpoints, loaded):
        if classes != len(class_ids):
            raise InputError(
                f"the model predicts {classes} classes but the label map "
                f"{data_config.label_map} has {len(class_ids)}",
                path=path,
            )
    keyframes = datasets[0].keyframes
    frame_sizes = datasets[0].frame_sizes() if keyframes else {}
    settings = {
        "split": split,
        "scale_sizes": [int(s) for s in scales],
        "engine": engine,
        "precision": precision,
        "boxes": os.fspath(boxes) if boxes is not None else None,
        "score_thresh": datasets[0].config.test_detection_threshold,
        "gt_boxes": bool(gt_boxes),
        "data": {
            k: getattr(data_config, k)
            for k in ("root", "num_frames", "sampling_rate", "alpha", "mean", "std")
        },
    }
    return predict_to_csv(
        models,
        weights,
        datasets,
        keyframes,
        out,
        class_ids,
        flip=flip,
        batch_size=batch_size if batch_size is not None else config.train.eval_batch_size,
        frame_sizes=frame_sizes,
        num_workers=num_workers if num_workers is not None else config.train.num_workers,
        device=device,
        keep_det_scores=keep_det_scores,
        score_decimals=score_decimals,
        output_classes=output_classes,
        resume=resume,
        manifest=run_manifest(settings, checkpoints),
        progress=progress,
        on_video_done=on_video_done,
    )
