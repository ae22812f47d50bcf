"""``avaloc evaluate`` and evaluate_files: results from real files, clear errors (exit 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from avaloc.cli.main import main
from avaloc.errors import InputError
from avaloc.evaluation import evaluate_files, read_box_table
from avaloc.formats import read_detections, write_label_map
from tests.conftest import shared_path

GT = """\
vid_a,0902,0.100,0.100,0.400,0.600,1,0
vid_a,0902,0.100,0.100,0.400,0.600,3,0
vid_a,0903,0.500,0.200,0.900,0.900,1,1
vid_b,0902,0.500,0.200,0.900,0.900,2,4
"""
PRED = """\
vid_a,902,0.100,0.100,0.400,0.600,1,0.9
vid_a,902,0.100,0.100,0.400,0.600,1,0.8
vid_a,903,0.000,0.000,0.050,0.050,1,0.7
vid_a,903,0.500,0.200,0.900,0.900,1,0.6
vid_b,0902,0.500,0.200,0.900,0.900,2,0.5
vid_b,0902,0.500,0.200,0.900,0.900,80,0.5
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "gt.csv").write_text(GT)
    (tmp_path / "pred.csv").write_text(PRED)
    write_label_map({1: "stand", 2: "sit", 3: "talk"}, tmp_path / "map.pbtxt")
    (tmp_path / "excluded.csv").write_text("vid_b,902\n")
    return {p.stem: p for p in tmp_path.iterdir()}


def test_evaluate_files_reads_timestamps_as_integers(files):
    result = evaluate_files(files["gt"], files["pred"], files["map"]).result
    assert result.per_class[1].ap == pytest.approx(0.75)  # 0902 and 902 are one keyframe
    assert result.per_class[2].ap == 1.0
    assert result.per_class[3].ap == 0.0
    assert result.mAP == pytest.approx((0.75 + 1.0 + 0.0) / 3)
    assert result.ignored.pred_outside_label_map == 1
    excluded = evaluate_files(files["gt"], files["pred"], files["map"], files["excluded"]).result
    assert excluded.per_class[2].ap is None
    assert excluded.mAP == pytest.approx((0.75 + 0.0) / 2)


def test_fast_reader_agrees_with_the_formats_reader(files):
    table = read_box_table(files["pred"], "pred")
    frame = read_detections(files["pred"])
    assert table.video_names[table.video_codes].tolist() == frame["video_id"].tolist()
    assert table.timestamps.tolist() == frame["timestamp"].tolist()
    assert table.boxes.tolist() == frame[["x1", "y1", "x2", "y2"]].to_numpy().tolist()
    assert table.scores.tolist() == frame["score"].tolist()


def evaluate_argv(gt, pred, label_map, *extra) -> list[str]:
    return ["evaluate", "--gt", str(gt), "--pred", str(pred), "--label-map", str(label_map)] + [
        str(e) for e in extra
    ]


def test_cli_prints_table_and_writes_json(files, tmp_path, capsys):
    out = tmp_path / "out" / "result.json"
    plot = tmp_path / "ap.png"
    argv = evaluate_argv(files["gt"], files["pred"], files["map"], "--json", out, "--plot", plot)
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "frame-mAP@0.5 (official): 0.5833" in text
    assert "stand" in text and "1 prediction rows outside the label map" in text
    data = json.loads(out.read_text())
    assert set(data) == {"mAP", "per_class"}
    assert data["per_class"]["1"] == {"name": "stand", "ap": 0.75, "num_gt": 2}
    assert math.isclose(data["mAP"], (0.75 + 1 + 0) / 3)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_cli_pyslowfast_protocol(files, capsys):
    argv = evaluate_argv(files["gt"], files["pred"], files["map"], "--protocol", "pyslowfast")
    assert main(argv) == 0
    assert "(pyslowfast)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("vid_a,902,0.1,0.1,0.4,0.6,1\n", ":1: expected 8 columns"),
        (
            "vid_a,902,0.1,0.1,0.4,0.6,1,0.5\nvid_a,902,0.1,0.1,0.4,0.6,1,high\n",
            ":2: score 'high' is not a number",
        ),
        ("vid_a,902,0.1,0.1,0.4,0.6,1,0.5\nvid_a,9x2,0.1,0.1,0.4,0.6,1,0.5\n", ":2: timestamp"),
        ("vid_a,902,10,10,40,60,1,0.5\n", ":1: box is outside [0, 1]"),
    ],
)
def test_cli_bad_predictions_exit_2_with_one_line(files, tmp_path, capsys, content, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    assert main(evaluate_argv(files["gt"], bad, files["map"])) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_cli_missing_file_and_foreign_label_map(files, tmp_path, capsys):
    assert main(evaluate_argv(tmp_path / "nope.csv", files["pred"], files["map"])) == 2
    assert "file not found" in capsys.readouterr().err
    write_label_map({50: "fly"}, tmp_path / "other.pbtxt")
    assert main(evaluate_argv(files["gt"], files["pred"], tmp_path / "other.pbtxt")) == 2
    assert "shares no class with the ground truth" in capsys.readouterr().err
    with pytest.raises(InputError, match="shares no class"):
        evaluate_files(files["gt"], files["pred"], tmp_path / "other.pbtxt")


def test_cli_person_ap_on_pets(tmp_path, capsys):
    root = shared_path("data", "video", "pets2009_gt")
    out = tmp_path / "person.json"
    argv = [
        "evaluate",
        "--person",
        "--gt",
        str(root / "persons_gt.csv"),
        "--pred",
        str(root / "persons_gt.csv"),
        "--ignore",
        str(root / "persons_ignore.csv"),
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    assert "person AP@0.5: 1.0000" in capsys.readouterr().out
    assert json.loads(out.read_text())["num_gt"] == 467


def test_real_activitynet_label_map_and_exclusions(files, tmp_path):
    ava = shared_path("data", "ava")
    excluded = ava / "ava_val_excluded_timestamps_v2.2.csv"
    result = evaluate_files(
        files["gt"],
        files["pred"],
        ava / "ava_action_list_v2.2_for_activitynet_2019.pbtxt",
        excluded,
    ).result
    assert len(result.per_class) == 60  # the 2019 challenge list
    assert result.per_class[1].ap == pytest.approx(0.75)  # bend/bow: our class 1 rows


def test_cli_detector_threshold_sweep(files, tmp_path, capsys):
    detections = tmp_path / "dets.csv"
    detections.write_text(
        "vid_a,0902,0.100,0.100,0.400,0.600,,0.95\n"
        "vid_a,0903,0.000,0.000,0.050,0.050,,0.35\n"
        "vid_a,0903,0.500,0.200,0.900,0.900,,0.55\n"
        "vid_b,0902,0.500,0.200,0.900,0.900,,0.75\n"
    )
    plot = tmp_path / "sweep.png"
    argv = evaluate_argv(
        files["gt"], files["pred"], files["map"], "--sweep", detections, "--sweep-plot", plot
    )
    assert main(argv) == 0
    out = capsys.readouterr().out
    # t <= 0.3: everything (0.5833). t = 0.4: the far box goes; class 1 ranks TP, FP, TP:
    # AP 1/2 + 1/2 * 2/3 -> mAP (5/6 + 1 + 0) / 3. t = 0.6: box B at 903 goes too (class 1
    # AP 1/2). t = 0.8, 0.9: only box A at vid_a 902 is left (class 2 AP 0).
    for line in (
        "| 0.0 | 0.5833 | 4 | 6 |",
        "| 0.4 | 0.6111 | 3 | 5 |",
        "| 0.6 | 0.5000 | 2 | 4 |",
        "| 0.9 | 0.1667 | 1 | 2 |",
    ):
        assert line in out
    assert plot.read_bytes()[:4] == b"\x89PNG"
