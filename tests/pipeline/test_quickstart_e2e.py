"""The whole quickstart on the synthetic `tiny` preset with minimal budgets: every stage runs,
the report files exist and hold the promised keys. (Quality is not judged at this size.)"""

from __future__ import annotations

import json

import pytest

from avaloc.pipeline.quickstart import load_quickstart_config, run_quickstart

TINY = [
    "synth.preset=tiny",
    "detector.train.max_iters=3",
    "detector.train.warmup_iters=1",
    "detector.train.time_budget_s=0",
    "pretrain.optim.max_epoch=1",
    "pretrain.train.eval_period=1",
    "finetune.optim.max_epoch=1",
    "finetune.optim.steps=[0]",
    "finetune.optim.lrs=[1.0]",
    "finetune.balance.ls_min_count=20",
    "predict.scales=[112,128]",
]


@pytest.mark.slow
def test_quickstart_runs_every_stage_and_writes_the_report(tmp_path):
    out = tmp_path / "qs"
    report = run_quickstart(out, load_quickstart_config(None, TINY))
    assert set(report["stages"]) == {
        "synth",
        "balance_stats",
        "detector_train",
        "proposals",
        "pretrain",
        "finetune",
        "predict",
        "evaluate",
        "report",
    } - {"report"}
    saved = json.loads((out / "report.json").read_text())
    assert saved["mAP"] == report["mAP"] and 0.0 <= saved["mAP"] <= 1.0
    assert saved["per_class"] and all(
        "ap" in v and "num_gt" in v for v in saved["per_class"].values()
    )
    assert len(saved["threshold_sweep"]) == 11
    markdown = (out / "report.md").read_text()
    for heading in ("Per-class AP", "Co-occurrence", "threshold sweep", "Training curves"):
        assert heading in markdown
    assert (out / "report.html").read_text().count("data:image/png;base64,") >= 4
    assert (out / "stats" / "figure2_cooccurrence.png").is_file()
