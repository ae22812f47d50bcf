"""Box-aware transforms: exact box arithmetic, boxes follow pixels, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avaloc.transforms import (
    TestTransform,
    TrainTransform,
    crop,
    horizontal_flip,
    normalize,
    pack_pathway,
    short_side_scale,
    to_boxes,
    to_video,
)


def painted_clip(height=120, width=160, box=(30, 20, 70, 100), frames=4) -> np.ndarray:
    """Black frames with a white rectangle exactly covering ``box`` (x1, y1, x2, y2)."""
    clip = np.zeros((frames, height, width, 3), dtype=np.uint8)
    x1, y1, x2, y2 = box
    clip[:, y1:y2, x1:x2] = 255
    return clip


def bright_extent(clip: torch.Tensor) -> list[float]:
    """XYXY extent of pixels brighter than mid-grey in a normalised (3, T, H, W) clip."""
    value = clip[0, 0] * 0.225 + 0.45
    ys, xs = torch.nonzero(value > 0.5, as_tuple=True)
    return [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]


def test_horizontal_flip_maps_boxes_and_pixels_exactly():
    frames = np.random.default_rng(0).integers(0, 255, (2, 40, 60, 3), dtype=np.uint8)
    video, boxes = to_video(frames), to_boxes([[10, 5, 25, 30], [0, 0, 60, 40]], 40, 60)
    flipped_video, flipped = horizontal_flip(video, boxes)
    assert flipped.tolist() == [[35, 5, 50, 30], [0, 0, 60, 40]]  # x' = 60 - x
    assert torch.equal(flipped_video[..., 0], video[..., 59])
    assert torch.equal(flipped_video[..., 17], video[..., 42])


def test_crop_shifts_and_clips_boxes_exactly():
    video = to_video(np.zeros((1, 40, 60, 3), dtype=np.uint8))
    boxes = to_boxes([[10, 5, 25, 30], [50, 0, 60, 4]], 40, 60)
    cropped_video, cropped = crop(video, boxes, top=3, left=8, height=20, width=20)
    assert cropped_video.shape == (1, 3, 20, 20)
    # [10-8, 5-3, 25-8, 30-3] = [2, 2, 17, 27] -> y2 clipped to 20; the 2nd lies right of the crop
    assert cropped.tolist() == [[2, 2, 17, 20], [20, 0, 20, 1]]


def test_short_side_scale_scales_each_axis_by_the_size_ratio():
    video = to_video(np.zeros((1, 40, 60, 3), dtype=np.uint8))
    scaled_video, scaled = short_side_scale(video, to_boxes([[10, 5, 25, 30]], 40, 60), 20)
    assert scaled_video.shape[-2:] == (20, 30)
    assert scaled.tolist() == [[5, 2.5, 12.5, 15]]


def test_normalize_values_and_layout():
    video = to_video(np.full((2, 3, 4, 3), 255, dtype=np.uint8))
    out = normalize(video)
    assert out.shape == (3, 2, 3, 4) and out.dtype == torch.float32
    assert torch.allclose(out, torch.full_like(out, (1 - 0.45) / 0.225))
    assert torch.allclose(normalize(video * 0), torch.full_like(out, -0.45 / 0.225))


@pytest.mark.parametrize(
    ("frames", "alpha", "slow"),
    [(32, 4, [0, 4, 8, 13, 17, 22, 26, 31]), (20, 4, [0, 4, 9, 14, 19]), (8, 8, [0])],
)
def test_pack_pathway_matches_pyslowfast_linspace(frames, alpha, slow):
    clip = torch.arange(frames, dtype=torch.float32).view(1, frames, 1, 1).expand(3, frames, 2, 2)
    slow_clip, fast_clip = pack_pathway(clip, alpha)
    assert fast_clip is clip
    assert slow_clip[0, :, 0, 0].long().tolist() == slow


@pytest.mark.parametrize("seed", range(8))
def test_train_boxes_follow_the_pixels(seed):
    box = (30, 20, 70, 100)
    result = TrainTransform()(
        painted_clip(box=box), np.array([box]), torch.Generator().manual_seed(seed)
    )
    assert result.clip.shape == (3, 4, 224, 224)
    if not result.keep.any():
        return
    assert result.boxes.shape == (1, 4)
    extent = bright_extent(result.clip)
    assert np.allclose(result.boxes[0].tolist(), extent, atol=1.5), (result.boxes, extent)


def test_train_transform_keeps_boxes_inside_and_drops_degenerate_ones():
    rng = np.random.default_rng(1)
    transform = TrainTransform(scales=(224, 320), crop_size=160)
    for seed in range(20):
        x1 = rng.uniform(-20, 300, 30)
        y1 = rng.uniform(-20, 220, 30)
        boxes = np.stack([x1, y1, x1 + rng.uniform(0, 80, 30), y1 + rng.uniform(0, 80, 30)], 1)
        result = transform(painted_clip(200, 300), boxes, torch.Generator().manual_seed(seed))
        assert result.boxes.shape == (int(result.keep.sum()), 4)
        assert (result.boxes >= 0).all() and (result.boxes <= 160).all()
        assert ((result.boxes[:, 2:] - result.boxes[:, :2]) >= 1.0).all()


def test_boxes_outside_the_frame_are_dropped_with_their_index():
    boxes = np.array([[0, 0, 10, 10], [170, 0, 200, 10], [150, 119.6, 160, 140]])
    result = TestTransform(scale=120)(painted_clip(), boxes)
    assert result.keep.tolist() == [True, False, False]  # right of / below the 160x120 frame
    assert result.boxes.tolist() == [[0, 0, 10, 10]]


def test_random_crops_drop_exactly_the_boxes_they_cut_off():
    # columns carry their x coordinate (R = x % 256, G = x // 256) to recover the crop offset
    x = np.arange(448)
    clip = np.zeros((1, 224, 448, 3), dtype=np.uint8)
    clip[..., 0], clip[..., 1] = x % 256, x // 256
    boxes = np.array([[0, 0, 120, 10], [330, 0, 448, 10]])
    transform = TrainTransform(scales=(224,), flip_prob=0.0, crop_attempts=1)
    seen = set()
    for seed in range(16):
        result = transform(clip, boxes, torch.Generator().manual_seed(seed))
        pixel = ((result.clip[:2, 0, 0, 0] * 0.225 + 0.45) * 255).round().long().tolist()
        left = pixel[0] + 256 * pixel[1]
        expected = [120 - left >= 1, left + 224 - 330 >= 1]
        assert result.keep.tolist() == expected, (seed, left)
        seen.add(tuple(expected))
    assert len(seen) >= 2  # the seeds exercised both kept and dropped boxes


def test_fixed_seed_gives_identical_outputs_and_seeds_differ():
    clip = painted_clip()
    boxes = np.array([[30, 20, 70, 100]])
    transform = TrainTransform(color_jitter=0.4)
    a = transform(clip, boxes, torch.Generator().manual_seed(5))
    b = transform(clip, boxes, torch.Generator().manual_seed(5))
    assert torch.equal(a.clip, b.clip) and torch.equal(a.boxes, b.boxes)
    others = [transform(clip, boxes, torch.Generator().manual_seed(s)) for s in range(6, 12)]
    assert any(not torch.equal(a.clip, o.clip) for o in others)


def test_train_transform_does_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    TrainTransform(color_jitter=0.2)(painted_clip(), None, torch.Generator().manual_seed(0))
    assert torch.equal(torch.rand(3), expected)


def test_test_transform_full_frame_scale_and_flip_exact():
    box = (30, 20, 70, 100)
    result = TestTransform(scale=60)(painted_clip(box=box), np.array([box]))
    assert result.clip.shape == (3, 4, 60, 80)  # 120x160 -> 60x80
    assert result.boxes.tolist() == [[15, 10, 35, 50]]
    flipped = TestTransform(scale=60, flip=True)(painted_clip(box=box), np.array([box]))
    assert flipped.boxes.tolist() == [[45, 10, 65, 50]]
    assert np.allclose(bright_extent(flipped.clip), [45, 10, 65, 50], atol=1)


def test_train_transform_rejects_crop_larger_than_scale():
    with pytest.raises(ValueError):
        TrainTransform(scales=(200,), crop_size=224)
