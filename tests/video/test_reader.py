"""Decoding: the frame asked for is the frame that was encoded; seeking; bad files; the cache."""

from __future__ import annotations

import pickle
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from avaloc.errors import InputError
from avaloc.formats import read_frame_list, write_frame_list
from avaloc.video import (
    FrameDirReader,
    VideoReader,
    clear_video_cache,
    open_video,
    read_keyframe,
    set_video_cache_size,
)
from avaloc.video.testing import decode_frame_number, numbered_frame, write_numbered_video


@pytest.fixture(scope="module")
def numbered_video(tmp_path_factory) -> Path:
    return write_numbered_video(tmp_path_factory.mktemp("video") / "numbered.mp4", 120, gop=10)


def numbers(frames: np.ndarray) -> list[int]:
    return [decode_frame_number(f) for f in frames]


def test_metadata(numbered_video):
    reader = VideoReader(numbered_video)
    assert (reader.fps, reader.num_frames, reader.width, reader.height) == (30.0, 120, 256, 192)
    assert reader.duration == pytest.approx(4.0)


def test_decoded_frames_are_the_encoded_ones_within_codec_tolerance(numbered_video):
    reader = VideoReader(numbered_video)
    indices = [0, 7, 8, 33, 61, 119]
    frames = reader.read_frames(indices)
    assert frames.shape == (6, 192, 256, 3) and frames.dtype == np.uint8
    assert numbers(frames) == indices
    for index, frame in zip(indices, frames):
        expected = numbered_frame(index, 192, 256).astype(np.int16)
        error = np.abs(frame.astype(np.int16) - expected)
        assert error.mean() < 3.0, index  # crf 18 H.264 + YUV 4:2:0 round trip


def test_order_duplicates_and_far_apart_groups(numbered_video):
    reader = VideoReader(numbered_video)
    indices = [100, 3, 3, 50, 2, 101]
    assert numbers(reader.read_frames(indices)) == indices


def test_indices_beyond_the_ends_repeat_edge_frames(numbered_video):
    reader = VideoReader(numbered_video)
    assert numbers(reader.read_frames([-10, -1, 0, 119, 120, 500])) == [0, 0, 0, 119, 119, 119]


def test_clip_read_repeatedly_in_any_order_is_identical(numbered_video):
    reader = VideoReader(numbered_video)
    late = reader.read_frames(range(90, 110, 2))
    early = reader.read_frames(range(0, 20, 2))
    again = reader.read_frames(range(90, 110, 2))
    assert np.array_equal(late, again)
    assert numbers(early) == list(range(0, 20, 2))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("tb90k_start.mp4", {"time_base": Fraction(1, 90000), "start_pts": 45000}),
        ("fps10.mp4", {"fps": 10, "time_base": Fraction(1, 10240)}),
        ("ntsc.mkv", {"fps": Fraction(30000, 1001)}),
        ("mpeg4.avi", {"codec": "mpeg4"}),
    ],
)
def test_odd_time_bases_start_pts_and_containers(tmp_path, name, kwargs):
    path = write_numbered_video(tmp_path / name, 60, gop=8, **kwargs)
    reader = VideoReader(path)
    assert reader.num_frames in (59, 60, 61)  # mkv/avi know their length from the duration only
    indices = [0, 1, 17, 30, 58, 59]
    assert numbers(reader.read_frames(indices)) == indices


def test_read_keyframe_uses_the_container_rate(tmp_path):
    path = write_numbered_video(tmp_path / "ten.mp4", 50, fps=10)
    assert decode_frame_number(read_keyframe(path, 3)) == 30
    with pytest.raises(InputError, match="outside the video"):
        read_keyframe(path, 5)  # frame 50 of 50
    clear_video_cache()


def test_missing_video_names_the_file(tmp_path):
    with pytest.raises(InputError, match="video not found") as info:
        open_video(tmp_path / "absent.mp4")
    assert "absent.mp4" in str(info.value)


def test_corrupt_videos_raise_input_error_naming_the_file(tmp_path, numbered_video):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    with pytest.raises(InputError, match=r"garbage\.mp4"):
        VideoReader(garbage)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.mp4"):
        VideoReader(empty)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(numbered_video.read_bytes()[: numbered_video.stat().st_size // 3])
    with pytest.raises(InputError, match=r"truncated\.mp4"):
        VideoReader(truncated).read_frames([0, 60, 119])


def test_cache_reuses_readers_and_is_bounded(tmp_path, numbered_video):
    clear_video_cache()
    paths = [write_numbered_video(tmp_path / f"v{i}.mp4", 5) for i in range(3)]
    set_video_cache_size(2)
    try:
        first = open_video(paths[0])
        assert open_video(paths[0]) is first
        open_video(paths[1])
        open_video(paths[2])  # evicts paths[0] and closes its container
        assert first._container is None
        assert open_video(paths[0]) is not first
        assert numbers(first.read_frames([4])) == [4]  # an evicted reader reopens lazily
    finally:
        set_video_cache_size(16)
        clear_video_cache()


def test_reader_pickles_without_its_container(numbered_video):
    reader = VideoReader(numbered_video)
    reader.read_frames([5])
    clone = pickle.loads(pickle.dumps(reader))
    assert clone._container is None
    assert numbers(clone.read_frames([6])) == [6]


def test_readers_work_in_dataloader_workers(numbered_video):
    import torch.utils.data

    class Frames(torch.utils.data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return decode_frame_number(open_video(numbered_video).read_frames([i * 20])[0])

    open_video(numbered_video).read_frames([0])  # the parent holds an open container
    loader = torch.utils.data.DataLoader(Frames(), batch_size=None, num_workers=2)
    assert sorted(int(x) for x in loader) == [0, 20, 40, 60, 80, 100]
    assert numbers(open_video(numbered_video).read_frames([110])) == [110]


def test_frame_directory_reader_and_frame_list(tmp_path):
    video_id = "vid01"
    folder = tmp_path / "frames" / video_id
    folder.mkdir(parents=True)
    names = []
    for i in range(12):
        name = f"{video_id}_{i + 1:06d}.jpg"
        bgr = cv2.cvtColor(numbered_frame(i, 64, 208), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
        names.append(f"{video_id}/{name}")
    write_frame_list({video_id: names}, tmp_path / "train.csv")
    reader = FrameDirReader.from_frame_list(
        read_frame_list(tmp_path / "train.csv"), video_id, tmp_path / "frames", fps=4
    )
    assert (reader.num_frames, reader.height, reader.width) == (12, 64, 208)
    assert numbers(reader.read_frames([-1, 3, 11, 20])) == [0, 3, 11, 11]
    # AVA convention: frame dirs start at second 900
    assert decode_frame_number(reader.read_keyframe(902)) == 8
    same = FrameDirReader.from_directory(folder, fps=4)
    assert numbers(same.read_frames([5])) == [5]
    (folder / names[5].split("/")[1]).write_bytes(b"broken")
    with pytest.raises(InputError, match="cannot decode frame image"):
        same.read_frames([5])
    with pytest.raises(InputError, match="not in the frame list"):
        FrameDirReader.from_frame_list({}, video_id, tmp_path)


def test_real_videos_are_10_fps_and_seek_matches_sequential_decode(video_dir):
    import av

    path = video_dir / "vtest_pets2009_480x360.mp4"
    reader = VideoReader(path)
    assert (reader.fps, reader.num_frames, reader.width, reader.height) == (10.0, 795, 480, 360)
    indices = [70, 200, 201, 250, 794]
    sought = reader.read_frames(indices)
    with av.open(str(path)) as container:
        sequential = {}
        for i, frame in enumerate(container.decode(video=0)):
            if i in indices:
                sequential[i] = frame.to_ndarray(format="rgb24")
            if i >= max(indices):
                break
    for k, index in enumerate(indices):
        assert np.array_equal(sought[k], sequential[index]), index


_HELD: dict = {}


def _drop_inherited_readers_and_collect(path: str) -> None:
    import gc

    _HELD.clear()  # the last references to the parent's raw container and threaded reader
    clear_video_cache()
    gc.collect()
    assert decode_frame_number(open_video(path).read_frames([3])[0]) == 3


def _hold_live_decoders(path: Path) -> None:
    import av

    raw = av.open(str(path))  # PyAV's default slice threads
    for index, _ in enumerate(raw.decode(video=0)):
        if index > 10:
            break
    threaded = VideoReader(path, threads=2)
    threaded.read_frames([0, 50])
    _HELD.update(raw=raw, threaded=threaded)
    open_video(path).read_frames([0, 50])


def test_forked_child_never_frees_inherited_containers(numbered_video):
    """Freeing a parent's decoder in a forked child waits for FFmpeg threads that do not exist
    there (seen as a DataLoader worker deadlock); the child must keep inherited ones instead."""
    import multiprocessing

    _hold_live_decoders(numbered_video)  # no local references: the child inherits this stack
    process = multiprocessing.get_context("fork").Process(
        target=_drop_inherited_readers_and_collect, args=(str(numbered_video),)
    )
    process.start()
    process.join(timeout=60)
    if process.is_alive():
        process.kill()
        pytest.fail("forked child deadlocked while freeing an inherited container")
    assert process.exitcode == 0
    assert numbers(_HELD["threaded"].read_frames([7])) == [7]  # the parent's are unaffected
    _HELD["raw"].close()
    _HELD.clear()
