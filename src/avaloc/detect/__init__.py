"""Person detection: torchvision Faster R-CNN FPN (ResNeXt-101, ResNet-50, MobileNetV3) and HOG.

``make_detector(cfg)`` gives a :class:`PersonDetector` (frames -> pixel boxes + scores);
``detect_keyframes`` turns it into an AVA detection table; ``train_detector`` fine-tunes a
Faster R-CNN on AVA person boxes. Nothing is ever downloaded: weights come from files.
"""

from avaloc.detect.config import (
    BACKBONES,
    DetectorConfig,
    DetectorTrainConfig,
    HogConfig,
    validate_detector_config,
)
from avaloc.detect.detectors import (
    FrameDetections,
    HogDetector,
    PersonDetector,
    TorchvisionDetector,
    make_detector,
)
from avaloc.detect.inference import (
    detect_keyframes,
    detect_video_frames,
    detections_to_rows,
    find_video,
    transfer_labels,
)
from avaloc.detect.models import build_detector, load_backbone_weights, load_detector_weights
from avaloc.detect.train import (
    TrainSummary,
    load_trained_detector,
    train_detector,
)

__all__ = [
    "BACKBONES",
    "DetectorConfig",
    "DetectorTrainConfig",
    "FrameDetections",
    "HogConfig",
    "HogDetector",
    "PersonDetector",
    "TorchvisionDetector",
    "TrainSummary",
    "build_detector",
    "detect_keyframes",
    "detect_video_frames",
    "detections_to_rows",
    "find_video",
    "load_backbone_weights",
    "load_detector_weights",
    "load_trained_detector",
    "make_detector",
    "train_detector",
    "transfer_labels",
    "validate_detector_config",
]
