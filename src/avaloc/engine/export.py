"""Export of the full detection model (backbone + RoIAlign head) to ONNX, and running it.

The exported graph takes ``slow (B, 3, Ts, H, W)``, ``fast (B, 3, Tf, H, W)`` and
``boxes (K, 5) = [batch_index, x1, y1, x2, y2]`` in input pixels and returns ``logits (K, C)``;
batch, frames, height, width and boxes are dynamic axes. RoIAlign with ``aligned=True`` maps to
ONNX ``RoiAlign`` (opset >= 16) with ``coordinate_transformation_mode="half_pixel"``; its
``sampling_ratio=0`` means the same adaptive grid as torchvision's.

Two exporters:

* ``"torchscript"`` (default): ``torch.onnx.export(dynamo=False)``, which uses torchvision's own
  RoIAlign symbolic. Deprecated by PyTorch but complete and dependency-free.
* ``"dynamo"``: the ``torch.export`` based exporter; needs ``onnxscript``, and RoIAlign gets the
  translation :func:`_roi_align_translation` below (torch has none for torchvision's op).

The run config and class ids of the checkpoint go into the ONNX metadata, so that
``avaloc predict --engine onnxruntime`` needs only the ``.onnx`` file.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avaloc.errors import InputError
from avaloc.fileio import atomic_path

EXPORTERS = ("torchscript", "dynamo")
INPUT_NAMES = ["slow", "fast", "boxes"]
OUTPUT_NAMES = ["logits"]
DEFAULT_OPSET = 17  # RoiAlign-16 is the first with half_pixel (aligned=True)
METADATA_KEY = "avaloc"


class ExportableDetector(nn.Module):
    """``forward(slow, fast, boxes)``: the detection model with flat tensor inputs for export."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, slow: torch.Tensor, fast: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        return self.model([slow, fast], boxes)


def example_inputs(
    slow_frames: int,
    fast_frames: int,
    height: int = 224,
    width: int = 288,
    batch: int = 2,
    boxes_per_clip: int = 2,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random clips and valid boxes of the given shape (tracing inputs, comparisons)."""
    generator = torch.Generator().manual_seed(seed)
    slow = torch.randn(batch, 3, slow_frames, height, width, generator=generator)
    fast = torch.randn(batch, 3, fast_frames, height, width, generator=generator)
    count = batch * boxes_per_clip
    corners = torch.rand(count, 2, 2, generator=generator) * torch.tensor([width, height])
    low, high = corners.min(dim=1).values, corners.max(dim=1).values + 1.0
    high = torch.minimum(high, torch.tensor([float(width), float(height)]))
    index = torch.arange(count, dtype=torch.float32).div(boxes_per_clip).floor()
    boxes = torch.cat([index[:, None], low, high], dim=1)
    return slow, fast, boxes


def _roi_align_translation(
    input: Any,
    boxes: Any,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Any:
    """torchvision::roi_align for the dynamo exporter: ONNX RoiAlign-16 on split box columns."""
    from onnxscript import opset18 as op

    batch_index = op.Cast(op.Squeeze(op.Slice(boxes, [0], [1], [1], [1]), [1]), to=7)  # int64
    corners = op.Slice(boxes, [1], [5], [1], [1])
    return op.RoiAlign(
        input,
        corners,
        batch_index,
        mode="avg",
        output_height=pooled_height,
        output_width=pooled_width,
        sampling_ratio=max(int(sampling_ratio), 0),
        spatial_scale=float(spatial_scale),
        coordinate_transformation_mode="half_pixel" if aligned else "output_half_pixel",
    )


def _export_torchscript(
    wrapper: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path, opset: int
) -> None:
    dynamic_axes = {
        "slow": {0: "batch", 2: "slow_frames", 3: "height", 4: "width"},
        "fast": {0: "batch", 2: "fast_frames", 3: "height", 4: "width"},
        "boxes": {0: "boxes"},
        "logits": {0: "boxes"},
    }
    with warnings.catch_warnings():
        # The legacy exporter's deprecation note and tracer notes on shape checks (constants for
        # a fixed architecture) are expected here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            inputs,
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )


def _export_dynamo(
    wrapper: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path, opset: int
) -> None:
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        raise InputError(
            "the dynamo exporter needs the onnxscript package (pip install onnxscript); "
            "or use --exporter torchscript",
            key="exporter",
        ) from None
    from torch.export import Dim

    batch, boxes = Dim("batch"), Dim("boxes")
    height, width = Dim("height", min=16), Dim("width", min=16)
    shapes = {
        "slow": {0: batch, 3: height, 4: width},
        "fast": {0: batch, 3: height, 4: width},
        "boxes": {0: boxes},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            wrapper,
            inputs,
            dynamo=True,
            opset_version=max(opset, 18),
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_shapes=shapes,
            custom_translation_table={
                torch.ops.torchvision.roi_align.default: _roi_align_translation
            },
            verbose=False,
        )
    program.save(str(path), external_data=False)


def export_onnx(
    model: nn.Module,
    out: str | os.PathLike,
    inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    *,
    exporter: str = "torchscript",
    opset: int = DEFAULT_OPSET,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Export ``model([slow, fast], boxes)`` to the ONNX file ``out`` (written atomically).

    ``inputs`` = (slow, fast, boxes) example tensors for tracing. ``metadata`` (JSON-serialisable)
    is stored under the ``avaloc`` key of the model's metadata properties.
    """
    if exporter not in EXPORTERS:
        raise InputError(f"must be one of {', '.join(EXPORTERS)}, got {exporter!r}", key="exporter")
    if opset < 16:
        raise InputError(
            f"opset {opset} has no RoiAlign with half-pixel coordinates (aligned=True); use >= 16",
            key="opset",
        )
    import onnx

    wrapper = ExportableDetector(model).eval()
    out = Path(out)
    with atomic_path(out) as tmp:
        if exporter == "torchscript":
            _export_torchscript(wrapper, inputs, tmp, opset)
        else:
            _export_dynamo(wrapper, inputs, tmp, opset)
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key = METADATA_KEY
        entry.value = json.dumps(dict(metadata or {}), sort_keys=True, default=str)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
    return out


class OnnxDetector:
    """An exported detection model run by onnxruntime, called like the PyTorch model.

    ``detector([slow, fast], boxes) -> logits (K, C)`` as a CPU float32 tensor.
    """

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise InputError("ONNX model not found", path=path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own types for unreadable models
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"not a loadable ONNX model ({first})", path=path) from None
        names = [i.name for i in self.session.get_inputs()]
        if names != INPUT_NAMES:
            raise InputError(
                f"not an avaloc detection model: inputs are {names}, expected {INPUT_NAMES}",
                path=path,
            )
        props = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] = json.loads(props.get(METADATA_KEY, "{}"))
        self.path = path
        self.num_classes = int(self.session.get_outputs()[0].shape[1])

    def __call__(self, inputs: Sequence[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        if boxes.shape[0] == 0:
            return torch.zeros(0, self.num_classes)
        slow, fast = inputs
        feeds = {
            "slow": _float32(slow),
            "fast": _float32(fast),
            "boxes": _float32(boxes),
        }
        (logits,) = self.session.run(OUTPUT_NAMES, feeds)
        return torch.from_numpy(logits)


def _float32(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=np.float32)


def max_abs_difference(
    model: nn.Module, detector: OnnxDetector, inputs: tuple[torch.Tensor, ...]
) -> float:
    """Largest |PyTorch logit - onnxruntime logit| on the same (slow, fast, boxes)."""
    slow, fast, boxes = inputs
    model.eval()
    with torch.inference_mode():
        expected = model([slow, fast], boxes)
    got = detector([slow, fast], boxes)
    return float((expected.float() - got).abs().max())
