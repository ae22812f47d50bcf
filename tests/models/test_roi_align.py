"""The embedding-bag RoIAlign against torchvision's kernel: values, gradients, edge cases."""

from __future__ import annotations

import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops import roi_align as tv_roi_align

from avaloc.models.roi_align import BagMultiScaleRoIAlign, roi_align


def _rois(generator: torch.Generator, count: int, batch: int, width: int, height: int):
    """Boxes of every kind: inside, crossing the border, sub-pixel, fully outside."""
    xy = torch.rand(count, 2, generator=generator) * torch.tensor([width, height]) * 1.2 - 4
    wh = torch.rand(count, 2, generator=generator) * torch.tensor([width, height]) * 0.8 + 0.2
    index = torch.randint(0, batch, (count, 1), generator=generator).float()
    rois = torch.cat([index, xy, xy + wh], dim=1)
    rois[0, 1:] = torch.tensor([width + 5.0, height + 5.0, width + 9.0, height + 9.0])
    rois[1, 1:] = torch.tensor([2.0, 3.0, 2.3, 3.2])
    rois[2, 1:] = torch.tensor([5.0, 4.0, 5.0, 4.0])  # empty
    return rois


@pytest.mark.parametrize("sampling_ratio", [0, 1, 2, 3])
@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("scale", [1.0, 0.125])
def test_values_and_gradients_equal_torchvision(sampling_ratio, aligned, scale):
    generator = torch.Generator().manual_seed(sampling_ratio * 10 + int(aligned))
    features = torch.randn(2, 5, 11, 14, generator=generator, dtype=torch.float64)
    rois = _rois(generator, 40, 2, int(14 / scale), int(11 / scale))
    rois = rois.double()
    ours_in = features.clone().requires_grad_(True)
    ref_in = features.clone().requires_grad_(True)
    ours = roi_align(ours_in, rois, (7, 6), scale, sampling_ratio, aligned)
    ref = tv_roi_align(ref_in, rois, (7, 6), scale, sampling_ratio, aligned)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)
    upstream = torch.randn(ours.shape, generator=generator, dtype=torch.float64)
    (ours * upstream).sum().backward()
    (ref * upstream).sum().backward()
    torch.testing.assert_close(ours_in.grad, ref_in.grad, rtol=1e-10, atol=1e-12)


def test_no_rois():
    features = torch.randn(1, 3, 8, 8)
    assert roi_align(features, torch.zeros(0, 5), 7, 1.0, 2).shape == (0, 3, 7, 7)


def test_multiscale_pooler_equals_torchvision():
    generator = torch.Generator().manual_seed(3)
    features = {
        "0": torch.randn(2, 4, 32, 40, generator=generator),
        "1": torch.randn(2, 4, 16, 20, generator=generator),
        "pool": torch.randn(2, 4, 8, 10, generator=generator),
    }
    corners = [torch.rand(30, 2, generator=generator) * 200 for _ in range(2)]
    sizes = [torch.rand(30, 2, generator=generator) * 120 + 2 for _ in range(2)]
    boxes = [torch.cat([xy, xy + wh], dim=1) for xy, wh in zip(corners, sizes)]
    shapes = [(256, 320), (256, 320)]
    ours = BagMultiScaleRoIAlign(["0", "1"], 7, sampling_ratio=2)(features, boxes, shapes)
    ref = MultiScaleRoIAlign(["0", "1"], 7, sampling_ratio=2)(features, boxes, shapes)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
