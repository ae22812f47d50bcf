"""AVA CSV readers and writers: real files, round trips, every malformed-input case."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from avaloc.errors import InputError
from avaloc.formats import (
    ReadReport,
    read_detections,
    read_excluded_timestamps,
    read_ground_truth,
    write_detections,
    write_excluded_timestamps,
    write_ground_truth,
)

GT_TEXT = """\
-5KQ66BBWC4,0902,0.077,0.151,0.283,0.811,80,1
-5KQ66BBWC4,0902,0.077,0.151,0.283,0.811,12,1
-5KQ66BBWC4,0902,0.332,0.194,0.481,0.891,17,0
_a-b_c,0905,0.000,0.000,1.000,1.000,12,
"""


def write(tmp_path, text, name="f.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ground_truth_values(tmp_path):
    rows = read_ground_truth(write(tmp_path, GT_TEXT))
    assert rows["video_id"].tolist() == ["-5KQ66BBWC4"] * 3 + ["_a-b_c"]
    assert rows["timestamp"].tolist() == [902, 902, 902, 905]
    assert rows["action_id"].tolist() == [80, 12, 17, 12]
    assert rows["person_id"].tolist() == [1, 1, 0, -1]
    np.testing.assert_allclose(
        rows.loc[0, ["x1", "y1", "x2", "y2"]].to_numpy(float), [0.077, 0.151, 0.283, 0.811]
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_ground_truth_round_trip(tmp_path, suffix):
    rows = read_ground_truth(write(tmp_path, GT_TEXT))
    out = tmp_path / f"out{suffix}"
    write_ground_truth(rows, out)
    if suffix == ".csv.gz":
        assert gzip.decompress(out.read_bytes()).decode() == GT_TEXT
    else:
        assert out.read_text() == GT_TEXT
    pd.testing.assert_frame_equal(read_ground_truth(out), rows)


def test_gzip_writes_are_deterministic(tmp_path):
    rows = read_ground_truth(write(tmp_path, GT_TEXT))
    write_ground_truth(rows, tmp_path / "a.csv.gz")
    write_ground_truth(rows, tmp_path / "b.csv.gz")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()


def test_detections_with_empty_and_minus_one_action(tmp_path):
    text = (
        "vid,0902,0.1,0.2,0.3,0.4,,0.97\n"
        "vid,0902,0.1,0.2,0.3,0.4,-1,0.5\n"
        "vid,903,0.1,0.2,0.3,0.4,7,0.25\n"
    )
    rows = read_detections(write(tmp_path, text))
    assert rows["action_id"].tolist() == [-1, -1, 7]
    assert rows["timestamp"].tolist() == [902, 902, 903]
    assert rows["score"].tolist() == [0.97, 0.5, 0.25]
    write_detections(rows, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text().splitlines()[
        0
    ] == "vid,0902,0.100,0.200,0.300,0.400,,0.970000"
    pd.testing.assert_frame_equal(read_detections(tmp_path / "out.csv"), rows)


def test_timestamps_are_any_non_negative_integer(tmp_path):
    rows = read_ground_truth(
        write(tmp_path, "v,0,0.1,0.1,0.2,0.2,1,1\nv,123456,0.1,0.1,0.2,0.2,1,1\n")
    )
    assert rows["timestamp"].tolist() == [0, 123456]


BAD_GT = [
    ("v,0902,0.1,0.2,0.3\n", 1, "expected 8 columns"),
    ("v,0902,0.1,0.2,0.3,0.4,1,1\nv,0902,0.1,0.2,0.3,0.4,1,1,9\n", 2, "expected 8 columns"),
    ("v,0902,0.1,abc,0.3,0.4,1,1\n", 1, "y1 'abc' is not a number"),
    ("v,09.5,0.1,0.2,0.3,0.4,1,1\n", 1, "timestamp '09.5' is not an integer"),
    ("v,0902,0.1,0.2,0.3,0.4,1.5,1\n", 1, "action_id '1.5' is not an integer"),
    ("v,0902,0.1,0.2,0.3,0.4,x,1\n", 1, "action_id 'x' is not a number"),
    ("v,-3,0.1,0.2,0.3,0.4,1,1\n", 1, "negative"),
    ("v,0902,0.1,0.2,1.3,0.4,1,1\nv,0902,0.1,0.2,0.3,0.4,1,1\n", 1, "outside [0, 1]"),
    ("v,0902,0.1,0.2,0.3,0.4,1,1\nv,0902,-0.1,0.2,0.3,0.4,1,1\n", 2, "outside [0, 1]"),
    ("v,0902,0.3,0.2,0.3,0.4,1,1\n", 1, "x1 >= x2"),
    ("v,0902,0.1,0.5,0.3,0.4,1,1\n", 1, "y1 >= y2"),
    (
        "v,0902,0.1,0.2,0.3,0.4,1,1\nw,1,0.1,0.2,0.3,0.4,1,1\nv,0902,0.1,0.2,0.3,0.4,1,1\n",
        3,
        "duplicate row (same as line 1)",
    ),
    ("v,0902,0.1,0.2,0.3,0.4,,1\n", 1, "empty action_id"),
    ("v,0902,0.1,0.2,0.3,0.4,0,1\n", 1, "action id 0 must be >= 1"),
    (",0902,0.1,0.2,0.3,0.4,1,1\n", 1, "empty video_id"),
    ("v,0902,nan,0.2,0.3,0.4,1,1\n", 1, "non-finite"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_GT)
def test_malformed_ground_truth(tmp_path, text, line, fragment):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_ground_truth(path)
    assert fragment in info.value.what, info.value.message
    assert info.value.line == line
    assert info.value.message.startswith(f"{path}:{line}: ")


def test_malformed_gzip_names_the_line(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(b"v,0902,0.1,0.2,0.3,0.4,1,1\nv,0902,0.1,0.2,0.3,zz,1,1\n"))
    with pytest.raises(InputError, match=r"bad.csv.gz:2: y2 'zz' is not a number"):
        read_ground_truth(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(b"this is not gzip")
    with pytest.raises(InputError, match=r"bad\.csv\.gz"):
        read_ground_truth(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_ground_truth(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="not a file"):
        read_ground_truth(tmp_path)


def test_unknown_action_error_or_skip(tmp_path):
    path = write(
        tmp_path, "v,1,0.1,0.2,0.3,0.4,1,1\nv,1,0.1,0.2,0.3,0.4,2,1\nv,2,0.1,0.2,0.3,0.4,9,1\n"
    )
    with pytest.raises(InputError, match=r":2: action id 2 is not in the label map"):
        read_ground_truth(path, label_ids=[1, 9])
    report = ReadReport(str(path))
    rows = read_ground_truth(path, label_ids=[1], on_unknown_action="skip", report=report)
    assert rows["action_id"].tolist() == [1]
    assert report.skipped_unknown_action == 2 and report.unknown_action_ids == [2, 9]
    assert "2 rows skipped" in report.summary()


def test_duplicates_skip_and_keep(tmp_path):
    path = write(tmp_path, "v,1,0.1,0.2,0.3,0.4,1,1\nv,1,0.1,0.2,0.3,0.4,1,1\n")
    report = ReadReport(str(path))
    assert len(read_ground_truth(path, on_duplicate="skip", report=report)) == 1
    assert report.skipped_duplicates == 1
    assert len(read_ground_truth(path, on_duplicate="keep")) == 2


def test_detection_errors(tmp_path):
    with pytest.raises(InputError, match=r":1: score 'high' is not a number"):
        read_detections(write(tmp_path, "v,1,0.1,0.2,0.3,0.4,,high\n"))
    with pytest.raises(InputError, match=r":1: expected 8 columns"):
        read_detections(write(tmp_path, "v,1,0.1,0.2,0.3,0.4,0.9\n"))
    with pytest.raises(InputError, match=r":1: empty score"):
        read_detections(write(tmp_path, "v,1,0.1,0.2,0.3,0.4,3,\n"))


def test_empty_file_reads_as_no_rows(tmp_path):
    assert len(read_ground_truth(write(tmp_path, ""))) == 0
    assert read_excluded_timestamps(write(tmp_path, "", "ex.csv")) == set()


def test_excluded_timestamps(tmp_path, ava_dir):
    keyframes = {("-abc", 902), ("_x", 1798)}
    write_excluded_timestamps(keyframes, tmp_path / "ex.csv")
    assert (tmp_path / "ex.csv").read_text() == "-abc,0902\n_x,1798\n"
    assert read_excluded_timestamps(tmp_path / "ex.csv") == keyframes
    with pytest.raises(InputError, match=r"ex2.csv:2: timestamp 'x' is not a number"):
        read_excluded_timestamps(write(tmp_path, "a,1\nb,x\n", "ex2.csv"))


@pytest.mark.parametrize(("split", "count"), [("train", 161), ("val", 37), ("test", 66)])
def test_real_excluded_timestamps(ava_dir, split, count):
    keyframes = read_excluded_timestamps(ava_dir / f"ava_{split}_excluded_timestamps_v2.2.csv")
    assert len(keyframes) == count
    assert all(902 <= t <= 1798 for _, t in keyframes)


def test_writer_is_atomic_on_failure(tmp_path):
    rows = read_ground_truth(write(tmp_path, GT_TEXT))
    target = tmp_path / "gt.csv"
    target.write_text("old content\n")
    broken = rows.drop(columns=["person_id"])
    with pytest.raises(ValueError):
        write_ground_truth(broken, target)
    assert target.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "gt.csv"]
