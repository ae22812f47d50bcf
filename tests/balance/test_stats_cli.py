"""``avaloc stats``: every artefact on a small generated file, and one-line errors on bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avaloc.cli.main import main
from avaloc.formats import LabelMap, write_ground_truth, write_label_map

NAMES = {1: "stand", 2: "sit", 3: "fall down", 4: "watch (a person)", 5: "talk to"}


@pytest.fixture
def annotation_files(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for n in range(600):
        pose = int(rng.choice([1, 2, 3], p=[0.7, 0.28, 0.02]))
        labels = {pose} | set(rng.choice([4, 5], size=rng.integers(0, 3)).tolist())
        x1 = 0.1 + 0.001 * (n % 300)
        for action in sorted(labels):
            rows.append(("vid_a", 902 + n // 300, x1, 0.2, x1 + 0.3, 0.9, action, n))
    frame = pd.DataFrame(
        rows, columns=["video_id", "timestamp", "x1", "y1", "x2", "y2", "action_id", "person_id"]
    )
    gt = tmp_path / "train.csv"
    write_ground_truth(frame, gt)
    label_map = tmp_path / "labels.pbtxt"
    write_label_map(LabelMap(NAMES), label_map)
    return gt, label_map, frame


@pytest.mark.slow  # ~13 s on the shared machine: matplotlib renders three figures
def test_stats_writes_matrices_figures_and_json(annotation_files, tmp_path, capsys):
    gt, label_map, frame = annotation_files
    out = tmp_path / "stats"
    code = main(
        ["stats", "--annotations", str(gt), "--label-map", str(label_map), "--out", str(out),
         "--ls-min-count", "100", "--cpia-target", "60", "--frontier", "5,20"]
    )  # fmt: skip
    assert code == 0
    for name in ["com_before", "com_after_cpia", "com_after_expected"]:
        assert (out / f"{name}.npy").is_file() and (out / f"{name}.csv").is_file()
    for name in ["figure2_cooccurrence.png", "class_counts.png", "frontier.png"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    com = np.load(out / "com_before.npy")
    counts = frame.groupby("action_id").size()
    np.testing.assert_array_equal(np.diag(com), [counts.get(c, 0) for c in NAMES])
    csv = pd.read_csv(out / "com_before.csv", index_col="action_id")
    np.testing.assert_array_equal(csv.to_numpy(), com)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["num_label_instances"] == len(frame)
    stand = stats["classes"]["1"]
    assert stand["name"] == "stand" and stand["count"] == counts[1]
    assert stand["share_percent"] == pytest.approx(100 * counts[1] / len(frame))
    after = np.load(out / "com_after_cpia.npy")
    assert stand["count_after_cpia"] == after[0, 0]
    share_after = 100 * after[0, 0] / np.trace(after)
    assert stand["ls_drop_prob"] == pytest.approx(max(0.0, 0.3 - 1 / share_after))
    assert stats["classes"]["3"]["count_after_cpia"] > stats["classes"]["3"]["count"]
    for key in ["before", "after"]:
        assert stats["diagonal_max_min_ratio"][key] > 0
    assert 0 < stats["min_row_cosine"] <= stats["median_row_cosine"] <= 1
    assert [p["target"] for p in stats["frontier"]] == sorted({5, 20, stats["cpia_target"]})
    printed = capsys.readouterr().out
    assert "Prob_i" in printed and "max/min ratio" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cpia-target", "0"], "cpia_target"),
        (["--ls-threshold", "2"], "ls_threshold"),
        (["--frontier", "5,x"], "--frontier"),
    ],
)
def test_bad_options_fail_with_one_line(annotation_files, tmp_path, capsys, extra, message):
    gt, label_map, _ = annotation_files
    out = tmp_path / "stats"
    code = main(
        ["stats", "--annotations", str(gt), "--label-map", str(label_map), "--out", str(out),
         *extra]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_unknown_action_and_missing_file_fail_cleanly(annotation_files, tmp_path, capsys):
    gt, _, _ = annotation_files
    small_map = tmp_path / "small.pbtxt"
    write_label_map(LabelMap({1: "stand"}), small_map)
    out = tmp_path / "stats"
    assert main(["stats", "--annotations", str(gt), "--label-map", str(small_map),
                 "--out", str(out)]) == 2  # fmt: skip
    assert str(gt) in capsys.readouterr().err
    assert main(["stats", "--annotations", str(tmp_path / "nope.csv"), "--label-map",
                 str(small_map), "--out", str(out)]) == 2  # fmt: skip
    assert "file not found" in capsys.readouterr().err
    assert not out.exists()


def test_stats_on_the_synthetic_tiny_preset(tmp_path, capsys):
    from avaloc.synthetic import generate_dataset

    root = generate_dataset(tmp_path / "synth", "tiny", 0, render_videos=False, progress=False)
    ann = root / "annotations"
    out = tmp_path / "stats"
    code = main(
        ["stats", "--annotations", str(ann / "train.csv"), "--label-map",
         str(ann / "label_map.pbtxt"), "--excluded", str(ann / "train_excluded_timestamps.csv"),
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    stats = json.loads((out / "stats.json").read_text())
    counts = pd.read_csv(ann / "train.csv", header=None)[6].value_counts()
    assert stats["num_label_instances"] <= int(counts.sum())  # excluded keyframes removed
    for action_id, entry in stats["classes"].items():
        assert entry["count_after_cpia"] >= entry["count"]
        assert entry["count"] <= counts.get(int(action_id), 0)
    assert stats["ls_subsampled_classes"] == []  # no class of a tiny set reaches 10,000
