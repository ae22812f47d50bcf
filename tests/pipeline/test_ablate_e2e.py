"""`avaloc ablate` end to end on the synthetic `tiny` preset: every row trains or reuses the
right checkpoints, the table, JSON and figures are written, and a re-run resumes."""

from __future__ import annotations

import json
import math

import pytest
from test_quickstart_e2e import TINY

from avaloc.pipeline.ablate import run_ablation
from avaloc.pipeline.quickstart import load_quickstart_config


@pytest.mark.slow
def test_ablation_rows_seeds_table_and_figures(tmp_path):
    out = tmp_path / "ablation"
    report = run_ablation(out, load_quickstart_config(None, TINY), seeds=2)
    assert [entry["row"] for entry in report["table"]] == ["1", "2", "3", "4", "5", "6"]
    for key in "1234":  # rows 1-4 train one model per seed; rows 5 and 6 reuse row 4's
        for seed in range(2):
            assert list((out / "rows" / key / f"seed{seed}" / "checkpoints").glob("step_*.pt"))
    assert not (out / "rows" / "5").exists() and not (out / "rows" / "6").exists()
    for entry in report["table"]:
        runs = report["rows"][entry["row"]]["runs"]
        assert [r["seed"] for r in runs] == [0, 1]
        values = [r["mAP"] for r in runs]
        assert entry["mAP"]["mean"] == pytest.approx(sum(values) / 2)
        assert entry["mAP"]["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
        assert all(0.0 <= v <= 1.0 for v in values)
    saved = json.loads((out / "ablation.json").read_text())
    assert saved["table"] == json.loads(json.dumps(report["table"]))
    markdown = (out / "ablation.md").read_text()
    assert sum(line.startswith("| ") for line in markdown.splitlines()) == 7  # header + 6 rows
    for figure in ("ablation.png", "per_class_row1_vs_row4.png"):
        assert (out / "figures" / figure).read_bytes()[:4] == b"\x89PNG"
    again = run_ablation(out, load_quickstart_config(None, TINY), seeds=2, rows=["1"])
    assert again["rows"]["1"]["runs"] == report["rows"]["1"]["runs"]
