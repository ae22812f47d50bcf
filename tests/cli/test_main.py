"""The console script: help, version, verb discovery, and user errors as one line + exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import avaloc
from avaloc.cli.main import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "avaloc", *args], capture_output=True, text=True, timeout=120
    )


def test_version_and_help(capsys):
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"avaloc {avaloc.__version__}"
    result = run_cli("--help")
    assert result.returncode == 0 and "info" in result.stdout


def test_no_verb_prints_help(capsys):
    assert main([]) == 0
    assert "VERB" in capsys.readouterr().out


def test_unknown_verb_is_a_usage_error():
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and "Traceback" not in result.stderr


def test_info_text_and_json(tmp_path, capsys):
    gt = tmp_path / "gt.csv"
    gt.write_text(
        "v,0902,0.1,0.1,0.4,0.9,12,1\nv,0902,0.1,0.1,0.4,0.9,80,1\n"
        "v,0903,0.5,0.1,0.9,0.9,12,2\n-w,0902,0.5,0.1,0.9,0.9,17,1\n"
    )
    assert main(["info", str(gt), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "videos": 2,
        "keyframes": 3,
        "instances": 3,
        "labels": 4,
        "labels_per_instance": {"mean": 4 / 3, "max": 2, "histogram": {"1": 2, "2": 1}},
        "per_class": {"12": 2, "17": 1, "80": 1},
    }
    assert main(["info", str(gt)]) == 0
    text = capsys.readouterr().out
    assert "instances:   3" in text and "keyframes:   3" in text


def test_info_real_label_map_names_classes(tmp_path, capsys, ava_dir):
    gt = tmp_path / "gt.csv"
    gt.write_text("v,0902,0.1,0.1,0.4,0.9,12,1\nv,0902,0.1,0.1,0.4,0.9,2,1\n")
    label_map = ava_dir / "ava_action_list_v2.2_for_activitynet_2019.pbtxt"
    assert main(["info", str(gt), "--label-map", str(label_map)]) == 2
    assert "action id 2 is not in the label map" in capsys.readouterr().err
    assert main(["info", str(gt), "--label-map", str(label_map), "--skip-unknown"]) == 0
    captured = capsys.readouterr()
    assert "stand" in captured.out and "1 rows skipped" in captured.err


def test_bad_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("v,0902,0.1,0.1,0.4,0.9,12,1\nv,0902,0.1,0.1,0.4\n")
    result = run_cli("info", str(bad))
    assert result.returncode == 2
    assert (
        result.stderr == f"avaloc info: error: {bad}:2: expected 8 columns "
        "(video_id,timestamp,x1,y1,x2,y2,action_id,person_id), found 5\n"
    )
    assert result.stdout == ""


def test_a_verb_builds_only_its_own_parser():
    """`avaloc evaluate` and `avaloc info` must not pay for importing torch."""
    code = (
        "import sys; from avaloc.cli.main import build_parser; "
        "build_parser('evaluate'); build_parser('info'); print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr
    result = run_cli("plot-log", "--help")
    assert result.returncode == 0 and "run_dir" in result.stdout
