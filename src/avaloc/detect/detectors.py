"""One interface for person detectors: frames in, pixel boxes and scores out.

``PersonDetector.detect(frames)`` takes RGB uint8 frames ``(H, W, 3)`` and returns one
:class:`FrameDetections` per frame (boxes in pixels ``x1 y1 x2 y2``, scores in [0, 1], sorted by
score). Two implementations: a torchvision Faster R-CNN (:class:`TorchvisionDetector`) and
OpenCV's HOG people detector (:class:`HogDetector`, zero-download, much weaker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import torch
from torchvision.models.detection import FasterRCNN
from torchvision.ops import nms

from avaloc.detect.config import DetectorConfig, HogConfig, validate_detector_config
from avaloc.detect.models import COCO_PERSON, build_detector


@dataclass(frozen=True)
class FrameDetections:
    """Person boxes of one frame: ``boxes`` (N, 4) float pixels, ``scores`` (N,) in [0, 1]."""

    boxes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


class PersonDetector(Protocol):
    def detect(self, frames: Sequence[np.ndarray]) -> list[FrameDetections]: ...


def _sorted(boxes: np.ndarray, scores: np.ndarray) -> FrameDetections:
    order = np.argsort(-scores, kind="stable")
    return FrameDetections(
        boxes=boxes[order].astype(np.float64).reshape(-1, 4),
        scores=scores[order].astype(np.float64),
    )


class TorchvisionDetector:
    """A two-class torchvision detector run in eval mode on batches of frames."""

    def __init__(
        self,
        model: FasterRCNN,
        *,
        batch_size: int = 2,
        min_score: float = 0.0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.model = model.to(device).eval()
        self.batch_size = batch_size
        self.min_score = min_score
        self.device = torch.device(device)

    @torch.inference_mode()
    def detect(self, frames: Sequence[np.ndarray]) -> list[FrameDetections]:
        results: list[FrameDetections] = []
        for start in range(0, len(frames), self.batch_size):
            batch = [
                torch.from_numpy(np.ascontiguousarray(frame))
                .to(self.device)
                .permute(2, 0, 1)
                .float()
                .div_(255.0)
                for frame in frames[start : start + self.batch_size]
            ]
            for output in self.model(batch):
                person = (output["labels"] == COCO_PERSON) & (output["scores"] >= self.min_score)
                results.append(
                    _sorted(
                        output["boxes"][person].cpu().numpy(),
                        output["scores"][person].cpu().numpy(),
                    )
                )
        return results


class HogDetector:
    """OpenCV's default HOG people detector with upscaling, raw windows and score-sorted NMS.

    ``detectMultiScale`` with ``groupThreshold=0`` returns every window above ``hit_threshold``
    with its SVM margin; the margin is mapped to a score by the logistic function (monotone, so
    AP ranking is unchanged) and overlapping windows are merged by NMS.
    """

    def __init__(self, cfg: HogConfig | None = None, *, min_score: float = 0.0) -> None:
        self.cfg = cfg or HogConfig()
        self.min_score = min_score
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect_one(self, frame: np.ndarray) -> FrameDetections:
        cfg = self.cfg
        image = frame
        if cfg.upscale != 1.0:
            image = cv2.resize(
                frame, None, fx=cfg.upscale, fy=cfg.upscale, interpolation=cv2.INTER_LINEAR
            )
        rects, weights = self.hog.detectMultiScale(
            image,
            hitThreshold=cfg.hit_threshold,
            winStride=(cfg.win_stride, cfg.win_stride),
            padding=(cfg.padding, cfg.padding),
            scale=cfg.scale,
            groupThreshold=0,
        )
        rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / cfg.upscale
        margins = np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(rects) == 0:
            return FrameDetections(np.zeros((0, 4)), np.zeros(0))
        x, y, w, h = rects.T
        boxes = np.stack(
            [
                x + cfg.shrink_x * w,
                y + cfg.shrink_y * h,
                x + (1 - cfg.shrink_x) * w,
                y + (1 - cfg.shrink_y) * h,
            ],
            axis=1,
        )
        height, width = frame.shape[:2]
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
        scores = 1.0 / (1.0 + np.exp(-margins))
        keep = nms(torch.from_numpy(boxes), torch.from_numpy(scores), cfg.nms_iou).numpy()
        boxes, scores = boxes[keep], scores[keep]
        valid = (
            (scores >= self.min_score) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        )
        return _sorted(boxes[valid], scores[valid])

    def detect(self, frames: Sequence[np.ndarray]) -> list[FrameDetections]:
        return [self.detect_one(frame) for frame in frames]


def make_detector(cfg: DetectorConfig, *, device: str | torch.device = "cpu") -> PersonDetector:
    """The detector ``cfg`` describes (HOG, or a Faster R-CNN with its weights files loaded)."""
    validate_detector_config(cfg)
    if cfg.backbone == "hog":
        return HogDetector(cfg.hog, min_score=cfg.score_threshold)
    return TorchvisionDetector(
        build_detector(cfg), batch_size=cfg.batch_size, min_score=cfg.score_threshold, device=device
    )
