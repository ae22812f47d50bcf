"""``avaloc detect train|predict|evaluate`` end to end on small generated data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avaloc.cli.main import main
from avaloc.formats import read_detections, read_ground_truth


def test_evaluate_prints_a_hand_computed_ap(tmp_path: Path, capsys) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text(
        "v,1,0.1,0.1,0.3,0.5,1,0\n"
        "v,1,0.1,0.1,0.3,0.5,4,0\n"  # the same person with a second action: one box
        "v,2,0.5,0.2,0.7,0.6,1,1\n"
    )
    det = tmp_path / "det.csv"
    det.write_text(
        "v,1,0.1,0.1,0.3,0.5,,0.9\n"  # TP
        "v,1,0.6,0.6,0.9,0.9,,0.8\n"  # FP
        "v,2,0.52,0.2,0.72,0.6,,0.7\n"  # TP (IoU 0.82)
        "v,2,0.5,0.2,0.7,0.6,,0.1\n"  # duplicate of a matched person: FP
    )
    assert main(["detect", "evaluate", "--annotations", str(gt), "--detections", str(det)]) == 0
    # precision 1 at recall 0.5, 2/3 at recall 1: VOC AP = 0.5 + 0.5 * 2/3.
    assert "person AP@0.5 = 0.8333" in capsys.readouterr().out
    ignore = tmp_path / "ignore.csv"
    ignore.write_text("v,1,0.55,0.55,1.0,1.0,1,\n")
    argv = ["detect", "evaluate", "--annotations", str(gt), "--detections", str(det)]
    assert main([*argv, "--ignore", str(ignore), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["person_ap"] == pytest.approx(1.0)  # the FP at v@1 lies in the ignore region
    assert (result["gt_boxes"], result["dropped_in_ignore_regions"]) == (2, 1)


def test_predict_with_hog_writes_detections_and_transferred_labels(
    people_data, tmp_path: Path, capsys
) -> None:
    video_dir, gt_csv, _ = people_data
    out = tmp_path / "det.csv"
    labeled = tmp_path / "labeled.csv"
    code = main(
        [
            "detect",
            "predict",
            "--backbone",
            "hog",
            "--annotations",
            str(gt_csv),
            "--video-dir",
            str(video_dir),
            "--out",
            str(out),
            "--transfer-labels",
            str(labeled),
            "--transfer-iou",
            "0.1",
            "--set",
            "hog.upscale=3.0",
            "--set",
            "hog.hit_threshold=-1.5",
            "--quiet",
        ]
    )
    assert code == 0
    table = read_detections(out)
    assert set(table["action_id"]) <= {-1}
    assert set(table["video_id"]) <= {"clip_a", "clip_b"}
    assert ((table["score"] > 0) & (table["score"] < 1)).all()
    transferred = read_ground_truth(labeled)
    assert set(transferred["action_id"]) <= {1, 2, 3}
    assert "person boxes on" in capsys.readouterr().out


def test_user_errors_exit_2_with_one_line(people_data, tmp_path: Path, capsys) -> None:
    video_dir, gt_csv, _ = people_data
    missing = tmp_path / "absent.pth"
    code = main(
        [
            "detect",
            "predict",
            "--backbone",
            "mobilenet_v3_large_fpn",
            "--weights",
            str(missing),
            "--annotations",
            str(gt_csv),
            "--video-dir",
            str(video_dir),
            "--out",
            str(tmp_path / "d.csv"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"avaloc detect: error: {missing}: weights file not found"
    assert not (tmp_path / "d.csv").exists()
    code = main(
        [
            "detect",
            "train",
            "--annotations",
            str(gt_csv),
            "--video-dir",
            str(video_dir),
            "--run-dir",
            str(tmp_path / "run"),
            "--set",
            "train.max_iter=3",
        ]
    )
    assert code == 2
    assert "max_iter" in capsys.readouterr().err
