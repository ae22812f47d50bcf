"""``avaloc synth``: a thin CLI over generate_dataset, with one-line errors and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from avaloc.cli.main import main
from avaloc.formats import read_ground_truth


def test_synth_writes_annotations(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "set"
    code = main(
        ["synth", "--out", str(out), "--preset", "tiny", "--seed", "2", "--annotations-only"]
    )
    assert code == 0
    assert len(read_ground_truth(out / "annotations/train.csv")) > 0
    assert "synth tiny seed 2" in capsys.readouterr().out


def test_synth_refuses_a_foreign_folder_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    code = main(["synth", "--out", str(tmp_path), "--annotations-only", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--overwrite" in err and str(tmp_path) in err
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_synth_rejects_an_unknown_preset(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "--out", "x", "--preset", "huge"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
