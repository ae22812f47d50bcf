"""The detector stage's typed config: architecture, weights, inference and training options.

Loaded like every stage config through :func:`avaloc.config.load_config` (YAML + ``key=value``
overrides, unknown keys fail with their path). :func:`validate_detector_config` checks the values
the types cannot (a backbone name, positive sizes, thresholds in [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from avaloc.errors import InputError

BACKBONES = ("resnext101_32x8d_fpn", "resnet50_fpn", "mobilenet_v3_large_fpn", "hog")


@dataclass
class HogConfig:
    """OpenCV's HOG + linear-SVM people detector (Dalal-Triggs, 64x128 window).

    The defaults are tuned on PETS 2009 (people 33 to 96 px tall at 480x360): the frame is
    upscaled so that small people fill the 64x128 window, every window above ``hit_threshold`` is
    kept (``groupThreshold=0``) and overlapping windows are merged by score-sorted NMS. The
    window holds a margin around the person, so boxes are shrunk by ``shrink_x``/``shrink_y`` of
    their width/height on each side to fit the person tightly.
    """

    upscale: float = 3.0
    win_stride: int = 8
    padding: int = 0
    scale: float = 1.05
    hit_threshold: float = -0.5
    nms_iou: float = 0.4
    shrink_x: float = 0.2
    shrink_y: float = 0.15


@dataclass
class DetectorTrainConfig:
    """Fine-tuning on AVA-format person boxes: SGD with linear warm-up then step decay."""

    batch_size: int = 2
    max_iters: int = 1000
    base_lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_iters: int = 100
    warmup_factor: float = 0.001
    #: iterations (fractions of max_iters) where the LR drops by ``lr_decay``.
    lr_steps: list[float] = field(default_factory=lambda: [0.7, 0.9])
    lr_decay: float = 0.1
    clip_grad_norm: float = 10.0
    #: scale jitter: the shorter image side is drawn from these sizes every iteration.
    train_min_sizes: list[int] = field(default_factory=lambda: [640, 672, 704, 736, 768, 800])
    hflip_prob: float = 0.5
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    #: keep decoded keyframes in memory up to this many MiB (0 = decode on every access).
    frame_cache_mb: int = 2048
    #: stop early after this many seconds of training (0 = no limit); a checkpoint is written.
    time_budget_s: float = 0.0


@dataclass
class DetectorHeadConfig:
    """Architecture options; the defaults are torchvision's recipes for each backbone.

    Small frames (the synthetic benchmark's 224x168) need them changed: torchvision's
    MobileNetV3 FPN reads two maps that are both at stride 32 (6x7 cells there, a 33x84-px
    person covers about 1x3 of them); ``fpn_stages: 3`` adds the stride-16 stage and ``4`` the
    stride-8 one. ``roi_sampling_ratio: 0`` samples adaptively (ceil(RoI size / 7) points per
    bin, Detectron2's ROIAlignV2 default).
    """

    #: MobileNetV3 only: how many of the last backbone stages feed the FPN (2 = torchvision's).
    fpn_stages: int = 2
    #: MobileNetV3 only: anchor sizes in pixels, all of them on every FPN level.
    anchor_sizes: list[int] = field(default_factory=lambda: [32, 64, 128, 256, 512])
    #: anchor height/width ratios (persons are about 2.5 times taller than wide).
    aspect_ratios: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0])
    #: sampling points per RoIAlign bin and axis (0 = adaptive).
    roi_sampling_ratio: int = 2
    #: width of the two fully connected layers of the box head.
    box_head_size: int = 1024


@dataclass
class DetectorConfig:
    """A person detector: which network, which weights, how boxes are kept."""

    #: resnext101_32x8d_fpn (the report's), resnet50_fpn, mobilenet_v3_large_fpn, or hog.
    backbone: str = "resnet50_fpn"
    #: a full detector checkpoint (avaloc, or a torchvision COCO one: its person row is kept).
    weights: str | None = None
    #: ImageNet weights of the backbone alone (torchvision classification state dict).
    backbone_weights: str | None = None
    #: backbone stages trained when starting from weights (0..5); from scratch all are trained.
    trainable_backbone_layers: int = 3
    #: resize so that the shorter side is min_size (longer side at most max_size).
    min_size: int = 800
    max_size: int = 1333
    #: boxes below this score are not written (keep low: AP needs the low-score tail).
    score_threshold: float = 0.05
    nms_iou: float = 0.5
    max_detections: int = 100
    #: the score a box needs to be passed on to the action model (the report's best: 0.85).
    downstream_threshold: float = 0.85
    batch_size: int = 2
    #: proposal budget (torchvision's defaults; a CPU recipe lowers them for speed).
    rpn_pre_nms_top_n_train: int = 2000
    rpn_post_nms_top_n_train: int = 2000
    rpn_pre_nms_top_n_test: int = 1000
    rpn_post_nms_top_n_test: int = 1000
    #: sampled RoIs per image for the box head's loss.
    box_batch_size_per_image: int = 512
    head: DetectorHeadConfig = field(default_factory=DetectorHeadConfig)
    hog: HogConfig = field(default_factory=HogConfig)
    train: DetectorTrainConfig = field(default_factory=DetectorTrainConfig)


def _check(condition: bool, key: str, what: str) -> None:
    if not condition:
        raise InputError(what, key=key)


def validate_detector_config(cfg: DetectorConfig) -> DetectorConfig:
    """Raise InputError naming the key of the first out-of-range value; return ``cfg``."""
    _check(
        cfg.backbone in BACKBONES,
        "backbone",
        f"unknown backbone {cfg.backbone!r}; choose one of {', '.join(BACKBONES)}",
    )
    _check(0 <= cfg.trainable_backbone_layers <= 6, "trainable_backbone_layers", "must be 0..6")
    _check(
        cfg.min_size > 0 and cfg.max_size >= cfg.min_size,
        "min_size",
        "need 0 < min_size <= max_size",
    )
    for key in ("score_threshold", "nms_iou", "downstream_threshold"):
        _check(0.0 <= getattr(cfg, key) <= 1.0, key, "must be in [0, 1]")
    _check(cfg.max_detections > 0, "max_detections", "must be positive")
    _check(cfg.batch_size > 0, "batch_size", "must be positive")
    for key in (
        "rpn_pre_nms_top_n_train",
        "rpn_post_nms_top_n_train",
        "rpn_pre_nms_top_n_test",
        "rpn_post_nms_top_n_test",
        "box_batch_size_per_image",
    ):
        _check(getattr(cfg, key) > 0, key, "must be positive")
    head = cfg.head
    _check(1 <= head.fpn_stages <= 4, "head.fpn_stages", "must be 1..4 (4 adds stride 8)")
    _check(
        len(head.anchor_sizes) > 0 and min(head.anchor_sizes) > 0,
        "head.anchor_sizes",
        "needs at least one positive size",
    )
    _check(
        len(head.aspect_ratios) > 0 and min(head.aspect_ratios) > 0,
        "head.aspect_ratios",
        "needs at least one positive ratio",
    )
    _check(head.roi_sampling_ratio >= 0, "head.roi_sampling_ratio", "must be >= 0")
    _check(head.box_head_size > 0, "head.box_head_size", "must be positive")
    hog = cfg.hog
    _check(hog.upscale > 0, "hog.upscale", "must be positive")
    _check(hog.win_stride > 0, "hog.win_stride", "must be positive")
    _check(hog.scale > 1.0, "hog.scale", "must be > 1")
    _check(0.0 < hog.nms_iou <= 1.0, "hog.nms_iou", "must be in (0, 1]")
    _check(
        0.0 <= hog.shrink_x < 0.5 and 0.0 <= hog.shrink_y < 0.5,
        "hog.shrink_x",
        "shrink fractions must be in [0, 0.5)",
    )
    train = cfg.train
    _check(train.batch_size > 0, "train.batch_size", "must be positive")
    _check(train.max_iters > 0, "train.max_iters", "must be positive")
    _check(train.base_lr > 0, "train.base_lr", "must be positive")
    _check(
        len(train.train_min_sizes) > 0 and min(train.train_min_sizes) > 0,
        "train.train_min_sizes",
        "needs at least one positive size",
    )
    _check(
        all(0.0 <= s <= 1.0 for s in train.lr_steps),
        "train.lr_steps",
        "steps are fractions of max_iters in [0, 1]",
    )
    _check(0.0 <= train.hflip_prob <= 1.0, "train.hflip_prob", "must be in [0, 1]")
    _check(train.checkpoint_every >= 0, "train.checkpoint_every", "must be >= 0")
    return cfg
