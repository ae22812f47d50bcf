"""Plain-text AVA lists and PySlowFast frame lists."""

from __future__ import annotations

import pytest

from avaloc.errors import InputError
from avaloc.formats import (
    read_file_name_list,
    read_frame_list,
    read_id_list,
    read_timestamp_list,
    write_frame_list,
)


def test_real_lists(ava_dir):
    seconds = read_timestamp_list(ava_dir / "ava_included_timestamps_v2.2.txt")
    assert len(seconds) == 897 and seconds[0] == 902 and seconds[-1] == 1798
    assert len(read_id_list(ava_dir / "ava_test_v2.2.txt")) == 131
    trainval = read_file_name_list(ava_dir / "ava_file_names_trainval_v2.1.txt")
    assert len(trainval) == 299
    assert {name.rsplit(".", 1)[1] for name in trainval.values()} <= {"mkv", "mp4", "webm"}
    assert any(v.startswith("-") for v in trainval) and any(v.startswith("_") for v in trainval)
    assert len(read_file_name_list(ava_dir / "ava_file_names_test_v2.1.txt")) == 131


def test_frame_list_round_trip(tmp_path):
    frames = {"-vid": [f"-vid/-vid_{i:06d}.jpg" for i in range(1, 4)], "b": ["b/b_000001.jpg"]}
    write_frame_list(frames, tmp_path / "train.csv")
    lines = (tmp_path / "train.csv").read_text().splitlines()
    assert lines[0] == "original_vido_id video_idx frame_idx path labels"
    assert lines[1] == '-vid 0 0 -vid/-vid_000001.jpg ""'
    assert read_frame_list(tmp_path / "train.csv") == frames


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("video frame\n", 1, "expected the header"),
        ("original_vido_id video_idx frame_idx path labels\nv 0 x p.jpg\n", 2, "not an integer"),
        ("original_vido_id video_idx frame_idx path labels\nv 0\n", 2, "at least 4"),
        ("original_vido_id video_idx frame_idx path labels\nv 0 1 a\nv 0 1 b\n", 3, "twice"),
    ],
)
def test_frame_list_errors(tmp_path, text, line, fragment):
    (tmp_path / "f.csv").write_text(text)
    with pytest.raises(InputError) as info:
        read_frame_list(tmp_path / "f.csv")
    assert fragment in info.value.what and info.value.line == line


def test_timestamp_list_error(tmp_path):
    (tmp_path / "t.txt").write_text("0902\n09a3\n")
    with pytest.raises(InputError, match=r"t.txt:2: timestamp '09a3'"):
        read_timestamp_list(tmp_path / "t.txt")
