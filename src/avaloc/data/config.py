"""The data stage's config: where the dataset lives, how clips are sampled and augmented."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from avaloc.errors import InputError

BAD_VIDEO_POLICIES = ("error", "skip")
TEST_BOX_SOURCES = ("detections", "ground_truth")


@dataclass
class DataConfig:
    """Dataset files, clip sampling and augmentation (paths are relative to ``root``).

    The default clip is PySlowFast's 32x2 (a 64-frame window at 30 fps: 32 fast frames every 2nd
    frame, 8 slow frames); the report's 40-frame window with fast stride 2 and slow stride 8 is
    ``num_frames=20, sampling_rate=2, alpha=4``.
    """

    root: str = ""
    # -- sources: video files, or PySlowFast frame directories when frame_dir is set
    video_dir: str = "videos"
    video_extensions: list[str] = field(
        default_factory=lambda: [".mp4", ".mkv", ".webm", ".avi", ".mov"]
    )
    frame_dir: str | None = None
    #: PySlowFast frame list (``original_vido_id video_idx frame_idx path labels``); when None
    #: the frames are ``frame_dir/<video_id>/*.jpg`` in name order.
    frame_list: str | None = None
    frame_fps: float = 30.0
    #: the time (s) of frame 0; None = 0 for video files, 900 for frame directories (AVA).
    start_second: float | None = None
    # -- annotations
    label_map: str = "annotations/label_map.pbtxt"
    train_annotations: str = "annotations/train.csv"
    val_annotations: str = "annotations/val.csv"
    train_excluded: str | None = "annotations/train_excluded_timestamps.csv"
    val_excluded: str | None = "annotations/val_excluded_timestamps.csv"
    #: person detections (AVA detection CSV); train ones are added to the GT boxes when set.
    train_detections: str | None = None
    val_detections: str | None = None
    #: training detections kept above this score; unmatched ones are negatives (no label).
    train_detection_threshold: float = 0.9
    #: a training detection takes the labels of the GT box it overlaps with IoU >= this.
    label_transfer_iou: float = 0.5
    #: test boxes: person detections above this score (the report's best: 0.85) or the GT.
    test_detection_threshold: float = 0.85
    test_boxes: str = "detections"
    # -- clip classification (pre-training): CSV ``path,label`` relative to root
    train_clips: str = "clips/train.csv"
    val_clips: str = "clips/val.csv"
    # -- clip sampling
    num_frames: int = 32
    sampling_rate: int = 2
    alpha: int = 4
    #: the rate (fps) at which num_frames x sampling_rate is counted; None = the video's own.
    sampling_fps: float | None = 30.0
    #: training: the window moves by a random shift in [-j, j] frames (at sampling_fps).
    temporal_jitter: int = 0
    # -- augmentation
    #: False trains on the test-time view (short side at test_scale, whole frame, no flip):
    #: the "no augmentation" baseline of the report's Table 2.
    train_augment: bool = True
    train_scales: list[int] = field(default_factory=lambda: [224, 256, 320])
    train_crop_size: int = 224
    flip_prob: float = 0.5
    color_jitter: float = 0.0
    test_scale: int = 256
    test_flip: bool = False
    mean: list[float] = field(default_factory=lambda: [0.45, 0.45, 0.45])
    std: list[float] = field(default_factory=lambda: [0.225, 0.225, 0.225])
    min_box_size: float = 1.0
    # -- bad data
    on_bad_video: str = "error"

    def path(self, relative: str | os.PathLike) -> Path:
        """``relative`` resolved against ``root`` (absolute paths stay as they are)."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else Path(self.root or ".") / candidate

    def validate(self) -> DataConfig:
        """Raise InputError naming the key of the first invalid value; returns self."""
        checks: list[tuple[str, bool, str]] = [
            ("num_frames", self.num_frames >= 1, "must be >= 1"),
            ("sampling_rate", self.sampling_rate >= 1, "must be >= 1"),
            ("alpha", self.alpha >= 1, "must be >= 1"),
            ("sampling_fps", self.sampling_fps is None or self.sampling_fps > 0, "must be > 0"),
            ("frame_fps", self.frame_fps > 0, "must be > 0"),
            ("temporal_jitter", self.temporal_jitter >= 0, "must be >= 0"),
            ("train_scales", bool(self.train_scales), "must not be empty"),
            (
                "train_crop_size",
                bool(self.train_scales) and 1 <= self.train_crop_size <= min(self.train_scales),
                "must be >= 1 and <= every train scale",
            ),
            ("test_scale", self.test_scale >= 1, "must be >= 1"),
            ("flip_prob", 0.0 <= self.flip_prob <= 1.0, "must be in [0, 1]"),
            ("color_jitter", 0.0 <= self.color_jitter < 1.0, "must be in [0, 1)"),
            ("mean", len(self.mean) == 3, "must have 3 values"),
            ("std", len(self.std) == 3 and all(s > 0 for s in self.std), "3 positive values"),
            ("test_detection_threshold", 0 <= self.test_detection_threshold <= 1, "in [0, 1]"),
            ("train_detection_threshold", 0 <= self.train_detection_threshold <= 1, "in [0, 1]"),
            ("label_transfer_iou", 0 < self.label_transfer_iou <= 1, "must be in (0, 1]"),
            ("test_boxes", self.test_boxes in TEST_BOX_SOURCES, f"one of {TEST_BOX_SOURCES}"),
            ("on_bad_video", self.on_bad_video in BAD_VIDEO_POLICIES, "'error' or 'skip'"),
        ]
        for key, ok, what in checks:
            if not ok:
                raise InputError(f"{what}, got {getattr(self, key)!r}", key=f"data.{key}")
        return self
