"""RoIAlign as a weighted embedding bag: torchvision's numbers, a much faster CPU backward.

torchvision's CPU ``roi_align`` backward walks every output element of every channel, recomputes
its bilinear weights each time and scatters single-threaded; in a Faster R-CNN training step on
small CPU images it took 30-40 % of the time. Here the bilinear weights of every sampling point
are computed once per (RoI, bin), not per channel, and the pooling is one
``F.embedding_bag(mode="sum", per_sample_weights=...)`` over the feature map's pixels as rows
(NHWC), whose backward is a vectorized scatter-add. ``benchmarks/bench_roi_align.py`` measures the
two; ``tests/models/test_roi_align.py`` checks values and gradients against torchvision.

CUDA tensors, where torchvision's kernel is fast, and tracing, exporting or compiling (which
must see the single RoIAlign op) go to ``torchvision.ops.roi_align``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops import roi_align as tv_roi_align
from torchvision.ops.poolers import _setup_scales


def _is_traced() -> bool:
    """Exporters (ONNX, torch.export) and compilers must see torchvision's single op."""
    return (
        torch.jit.is_tracing()
        or torch.compiler.is_compiling()
        or torch.compiler.is_exporting()
        or torch.onnx.is_in_onnx_export()
    )


def _axis_samples(
    start: Tensor, length: Tensor, size: int, bins: int, ratio: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Bilinear corner indices (R, bins, ratio, 2), weights (same) and validity (R, bins, ratio)
    of the sampling points along one axis, with torchvision's border rules."""
    steps = (torch.arange(bins * ratio, device=start.device, dtype=start.dtype) + 0.5) / ratio
    points = start[:, None] + steps[None, :] * (length / bins)[:, None]
    valid = (points >= -1.0) & (points <= size)
    points = points.clamp(min=0.0)
    low = points.floor().long()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    high = torch.where(at_edge, low, low + 1)
    points = torch.where(at_edge, low.to(points.dtype), points)
    frac = points - low.to(points.dtype)
    index = torch.stack([low, high], dim=-1).view(-1, bins, ratio, 2)
    weight = torch.stack([1.0 - frac, frac], dim=-1).view(-1, bins, ratio, 2)
    return index, weight, valid.view(-1, bins, ratio)


def _fixed_grid_roi_align(
    features: Tensor,
    batch_index: Tensor,
    corner: Tensor,
    size: Tensor,
    out_h: int,
    out_w: int,
    ratio_y: int,
    ratio_x: int,
) -> Tensor:
    """RoIAlign with ``ratio_y x ratio_x`` sampling points in every bin of every RoI, for RoIs
    given in feature-map units: ``corner`` (x1, y1) and ``size`` (w, h), both (R, 2)."""
    batch, channels, height, width = features.shape
    num_rois = batch_index.shape[0]
    y_index, y_weight, y_valid = _axis_samples(corner[:, 1], size[:, 1], height, out_h, ratio_y)
    x_index, x_weight, x_valid = _axis_samples(corner[:, 0], size[:, 0], width, out_w, ratio_x)
    # Axes of the bags: (roi, bin_y, bin_x, sample_y, sample_x, corner_y, corner_x).
    y_shape = (num_rois, out_h, 1, ratio_y, 1, 2, 1)
    x_shape = (num_rois, 1, out_w, 1, ratio_x, 1, 2)
    rows = (
        batch_index.view(-1, 1, 1, 1, 1, 1, 1) * (height * width)
        + y_index.view(y_shape) * width
        + x_index.view(x_shape)
    )
    valid = y_valid.view(*y_shape[:-2], 1, 1) & x_valid.view(*x_shape[:-2], 1, 1)
    weights = y_weight.view(y_shape) * x_weight.view(x_shape) * valid / (ratio_y * ratio_x)
    bag = 4 * ratio_y * ratio_x
    table = features.permute(0, 2, 3, 1).reshape(batch * height * width, channels)
    pooled = F.embedding_bag(
        rows.reshape(-1, bag),
        table,
        per_sample_weights=weights.reshape(-1, bag).detach(),
        mode="sum",
    )
    return pooled.view(num_rois, out_h, out_w, channels).permute(0, 3, 1, 2)


def roi_align(
    features: Tensor,
    rois: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """``torchvision.ops.roi_align`` for ``rois`` of shape (R, 5) ``[batch_index, x1, y1, x2,
    y2]``; the same arguments and results (within float rounding).

    An adaptive ``sampling_ratio <= 0`` gives each RoI ceil(size / output size) points per bin
    and axis: RoIs are grouped by their grid and each group is pooled with a fixed grid.
    """
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    if features.is_cuda or rois.requires_grad or _is_traced():
        return tv_roi_align(features, rois, (out_h, out_w), spatial_scale, sampling_ratio, aligned)
    channels = features.shape[1]
    if rois.shape[0] == 0:
        return features.new_zeros((0, channels, out_h, out_w))
    batch_index = rois[:, 0].long()
    scaled = rois[:, 1:].to(features.dtype) * spatial_scale - (0.5 if aligned else 0.0)
    corner = scaled[:, :2]
    size = scaled[:, 2:] - corner
    if not aligned:
        size = size.clamp(min=1.0)
    if sampling_ratio > 0:
        pooled = _fixed_grid_roi_align(
            features, batch_index, corner, size, out_h, out_w, sampling_ratio, sampling_ratio
        )
        return pooled.contiguous()
    grids = torch.ceil(size / torch.tensor([out_w, out_h], dtype=size.dtype)).long()
    result = features.new_zeros((rois.shape[0], channels, out_h, out_w))
    for grid_x, grid_y in torch.unique(grids, dim=0).tolist():
        if grid_x <= 0 or grid_y <= 0:  # an empty box of aligned mode: no point, zeros
            continue
        chosen = torch.where((grids[:, 0] == grid_x) & (grids[:, 1] == grid_y))[0]
        result[chosen] = _fixed_grid_roi_align(
            features,
            batch_index[chosen],
            corner[chosen],
            size[chosen],
            out_h,
            out_w,
            grid_y,
            grid_x,
        )
    return result


class BagMultiScaleRoIAlign(MultiScaleRoIAlign):
    """torchvision's ``MultiScaleRoIAlign`` (same levels, same mapping) pooling with
    :func:`roi_align`."""

    def forward(
        self, x: dict[str, Tensor], boxes: list[Tensor], image_shapes: list[tuple[int, int]]
    ) -> Tensor:
        levels_in = [x[name] for name in self.featmap_names if name in x]
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(
                levels_in, image_shapes, self.canonical_scale, self.canonical_level
            )
        rois = torch.cat(
            [torch.cat([torch.full_like(b[:, :1], i), b], dim=1) for i, b in enumerate(boxes)]
        )
        if len(levels_in) == 1:
            return roi_align(
                levels_in[0], rois, self.output_size, self.scales[0], self.sampling_ratio
            )
        level_of_roi = self.map_levels(boxes)
        first = levels_in[0]
        result = first.new_zeros((len(rois), first.shape[1], *self.output_size))
        for level, (feature, scale) in enumerate(zip(levels_in, self.scales)):
            chosen = torch.where(level_of_roi == level)[0]
            if len(chosen):
                result[chosen] = roi_align(
                    feature, rois[chosen], self.output_size, scale, self.sampling_ratio
                ).to(result.dtype)
        return result
