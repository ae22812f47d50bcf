"""The generated files: layout, parsing with the formats module, determinism, boxes, pixels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from avaloc.errors import InputError
from avaloc.formats import (
    group_instances,
    read_excluded_timestamps,
    read_ground_truth,
    read_label_map,
)
from avaloc.synthetic import CLASSES, PRESETS, generate_dataset, video_ids
from avaloc.synthetic.dataset import MANIFEST, video_scene
from avaloc.synthetic.render import render_frame

from .conftest import decode_all

TINY = PRESETS["tiny"]
ANNOTATION_FILES = [
    "annotations/train.csv",
    "annotations/val.csv",
    "annotations/label_map.pbtxt",
    "annotations/train_excluded_timestamps.csv",
    "annotations/val_excluded_timestamps.csv",
    "clips/train.csv",
    "clips/val.csv",
    "README.md",
    MANIFEST,
]


def _split_ids(root: Path) -> list[str]:
    manifest = json.loads((root / MANIFEST).read_text())
    return sorted(Path(f).stem for f in manifest["files"] if f.startswith("videos/"))


def test_layout_and_files_parse_with_formats(tiny_set: Path) -> None:
    for name in ANNOTATION_FILES:
        assert (tiny_set / name).is_file(), name
    label_map = read_label_map(tiny_set / "annotations/label_map.pbtxt")
    assert label_map.ids == list(range(1, len(CLASSES) + 1))
    assert 16 <= len(label_map) <= 24
    assert set(label_map.label_types.values()) == {
        "PERSON_MOVEMENT",
        "OBJECT_MANIPULATION",
        "PERSON_INTERACTION",
    }
    ids = _split_ids(tiny_set)
    assert len(ids) == TINY.train_videos + TINY.val_videos
    seen_videos = set()
    for split in ("train", "val"):
        rows = read_ground_truth(tiny_set / f"annotations/{split}.csv", label_ids=label_map.ids)
        assert len(rows) > 0
        seen_videos |= set(rows["video_id"])
        # Keyframes are integer seconds with a full second of video on either side.
        assert rows["timestamp"].min() >= 1
        assert rows["timestamp"].max() <= TINY.seconds - 2
        excluded = read_excluded_timestamps(
            tiny_set / f"annotations/{split}_excluded_timestamps.csv"
        )
        keys = set(zip(rows["video_id"], rows["timestamp"]))
        assert not keys & excluded, "excluded keyframes must have no ground truth"
        instances = group_instances(rows)
        per_instance = instances.label_counts_per_instance()
        assert per_instance.min() >= 1 and per_instance.max() <= 4
    assert seen_videos <= set(ids)


def test_videos_are_h264_30fps_with_the_documented_length(tiny_set: Path) -> None:
    for video_id in _split_ids(tiny_set):
        path = tiny_set / "videos" / f"{video_id}.mp4"
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.average_rate == 30
            assert stream.codec_context.pix_fmt == "yuv420p"
            assert (stream.width, stream.height) == (TINY.width, TINY.height)
            count = sum(1 for _ in container.decode(video=0))
        assert count == TINY.seconds * 30


def test_clip_csv_points_at_readable_videos_with_valid_labels(tiny_set: Path) -> None:
    for split in ("train", "val"):
        lines = (tiny_set / f"clips/{split}.csv").read_text().splitlines()
        assert lines
        labels = set()
        for line in lines:
            path, label = line.split(",")
            labels.add(int(label))
            frames = decode_all(tiny_set / path)
            assert frames.shape == (TINY.clip_frames, TINY.clip_height, TINY.clip_width, 3)
        assert labels <= set(range(len(CLASSES)))
        assert len(labels) >= 16, "clips cover the classes that can be shown in isolation"


def test_video_ids_look_like_youtube_ids_some_with_leading_dash_or_underscore() -> None:
    ids = video_ids(0, 200)
    assert len(set(ids)) == 200
    assert all(len(i) == 11 for i in ids)
    leading = [i for i in ids if i[0] in "-_"]
    assert 10 <= len(leading) <= 80
    assert video_ids(0, 50) == ids[:50]


@pytest.mark.slow
def test_same_seed_gives_identical_files_and_frames(tiny_set: Path, tmp_path: Path) -> None:
    again = generate_dataset(tmp_path / "again", "tiny", seed=0, progress=False)
    for name in ANNOTATION_FILES:
        assert (again / name).read_bytes() == (tiny_set / name).read_bytes(), name
    for video_id in _split_ids(tiny_set):
        first = decode_all(tiny_set / "videos" / f"{video_id}.mp4")
        second = decode_all(again / "videos" / f"{video_id}.mp4")
        assert np.array_equal(first, second), video_id
    clip = (tiny_set / "clips/train.csv").read_text().splitlines()[0].split(",")[0]
    assert np.array_equal(decode_all(tiny_set / clip), decode_all(again / clip))
    other = generate_dataset(tmp_path / "other", "tiny", seed=1, progress=False)
    assert (other / "annotations/train.csv").read_bytes() != (
        tiny_set / "annotations/train.csv"
    ).read_bytes()


def test_annotation_only_mode_writes_the_same_annotations(tiny_set: Path, tmp_path: Path) -> None:
    fast = generate_dataset(tmp_path / "fast", "tiny", seed=0, progress=False, render_videos=False)
    for split in ("train", "val"):
        for name in (f"annotations/{split}.csv", f"annotations/{split}_excluded_timestamps.csv"):
            assert (fast / name).read_bytes() == (tiny_set / name).read_bytes()
    assert not (fast / "videos").exists()


def _instances_by_video(root: Path) -> dict[str, list[tuple[int, int, np.ndarray]]]:
    result: dict[str, list[tuple[int, int, np.ndarray]]] = {}
    for split in ("train", "val"):
        instances = group_instances(read_ground_truth(root / f"annotations/{split}.csv"))
        for k in range(len(instances)):
            result.setdefault(str(instances.video_ids[k]), []).append(
                (int(instances.timestamps[k]), int(instances.person_ids[k]), instances.boxes[k])
            )
    return result


def test_boxes_are_tight_around_the_rendered_figure(tiny_set: Path) -> None:
    """Re-render each annotated person alone: its mask pixels lie in the box, which touches them."""
    ids = video_ids(0, TINY.train_videos + TINY.val_videos)
    by_video = _instances_by_video(tiny_set)
    checked = 0
    for index, video_id in enumerate(ids):
        scene = video_scene(0, index, TINY)
        for timestamp, person_id, box in by_video.get(video_id, []):
            frame = timestamp * 30
            _, figures = render_frame(scene, frame, people={person_id})
            drawn = figures[person_id]
            dx, dy = scene.jitter[frame]
            rows, cols = np.nonzero(drawn.mask)
            xs = cols + drawn.left - 4 - dx
            ys = rows + drawn.top - 4 - dy
            inside = (xs >= 0) & (xs < TINY.width) & (ys >= 0) & (ys < TINY.height)
            xs, ys = xs[inside], ys[inside]
            x1, y1, x2, y2 = box * [TINY.width, TINY.height, TINY.width, TINY.height]
            assert xs.min() >= x1 - 0.5 and xs.max() + 1 <= x2 + 0.5
            assert ys.min() >= y1 - 0.5 and ys.max() + 1 <= y2 + 0.5
            assert abs(xs.min() - x1) <= 1 and abs(xs.max() + 1 - x2) <= 1
            assert abs(ys.min() - y1) <= 1 and abs(ys.max() + 1 - y2) <= 1
            checked += 1
    assert checked >= 30


def test_decoded_keyframes_show_each_person_inside_its_box(tiny_set: Path) -> None:
    """Independent of the renderer's masks: the pixels where the decoded video shows the person
    (decoded frame far closer to the full render than to a render without that person) lie
    inside its box, and their extent matches the box."""
    ids = video_ids(0, TINY.train_videos + TINY.val_videos)
    by_video = _instances_by_video(tiny_set)
    tight = total = 0
    for index, video_id in enumerate(ids):
        scene = video_scene(0, index, TINY)
        decoded = decode_all(tiny_set / "videos" / f"{video_id}.mp4")
        everyone = {t.person_id for t in scene.script.tracks}
        for timestamp, person_id, box in by_video.get(video_id, []):
            frame = timestamp * 30
            without, _ = render_frame(scene, frame, people=everyone - {person_id})
            full, _ = render_frame(scene, frame)
            seen = decoded[frame].astype(int)
            gain = np.abs(seen - without.astype(int)) - np.abs(seen - full.astype(int))
            change = gain.max(axis=2) > 40
            ys, xs = np.nonzero(change)
            x1, y1, x2, y2 = box * [TINY.width, TINY.height, TINY.width, TINY.height]
            inside = (xs >= x1 - 3) & (xs < x2 + 3) & (ys >= y1 - 3) & (ys < y2 + 3)
            # Carried and thrown objects belong to the person but lie partly outside the box.
            assert inside.mean() > 0.9, (video_id, timestamp, person_id)
            xs, ys = xs[inside], ys[inside]
            total += 1
            if (
                abs(xs.min() - x1) <= 3
                and abs(xs.max() + 1 - x2) <= 3
                and abs(ys.min() - y1) <= 3
                and abs(ys.max() + 1 - y2) <= 3
            ):
                tight += 1
    # Boxes are amodal: a person partly hidden by someone in front changes fewer pixels.
    assert total >= 30 and tight / total > 0.8


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = a.astype(float) - b.astype(float)
    return float(10 * np.log10(255.0**2 / max(np.mean(error**2), 1e-12)))


def test_decoded_frames_match_rendered_frames_within_codec_tolerance(tiny_set: Path) -> None:
    video_id = video_ids(0, 1)[0]
    scene = video_scene(0, 0, TINY)
    decoded = decode_all(tiny_set / "videos" / f"{video_id}.mp4")
    for frame in (0, 45, 100, len(decoded) - 1):
        rendered, _ = render_frame(scene, frame)
        # The reference loss: 4:2:0 chroma subsampling alone, without compression.
        subsampled = (
            av.VideoFrame.from_ndarray(rendered, format="rgb24")
            .reformat(format="yuv420p")
            .to_ndarray(format="rgb24")
        )
        floor = _psnr(subsampled, rendered)
        assert _psnr(decoded[frame], rendered) > floor - 1.5, frame
        assert _psnr(decoded[frame], subsampled) > 35.0, frame


def test_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        generate_dataset(target, "tiny", progress=False, render_videos=False)
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    generate_dataset(target, "tiny", progress=False, render_videos=False, overwrite=True)
    assert (target / "notes.txt").read_text() == "keep me"
    assert (target / "annotations/train.csv").is_file()


def test_regenerates_over_a_previous_output_and_removes_its_stale_files(
    tiny_set: Path, tmp_path: Path
) -> None:
    target = tmp_path / "set"
    shutil.copytree(tiny_set, target)
    generate_dataset(target, "tiny", seed=3, progress=False, render_videos=False)
    assert not list((target / "videos").glob("*.mp4")), "videos of the old set are removed"
    assert not list((target / "clips").rglob("*.mp4"))
    assert not (target / "clips/train.csv").exists()
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["seed"] == 3 and not manifest["videos_rendered"]
    assert (target / "annotations/train.csv").read_bytes() != (
        tiny_set / "annotations/train.csv"
    ).read_bytes()


def test_unknown_preset_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown preset"):
        generate_dataset(tmp_path, "huge")
