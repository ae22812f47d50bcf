"""The quickstart's embedded config, its overrides, and the ablation rows' settings."""

from __future__ import annotations

import pytest

from avaloc.cli.main import main
from avaloc.pipeline.ablate import ROWS, format_table, frequency_groups, row_config
from avaloc.pipeline.quickstart import load_quickstart_config


def test_embedded_default_is_the_slim_report_system():
    config = load_quickstart_config()
    assert config.synth.preset == "default"
    assert config.finetune.model.name == "slowfast_r50_w8_detection"
    assert config.pretrain.train.task == "classification"
    assert config.finetune.balance.cpia and config.finetune.balance.ls
    assert config.predict.score_threshold == 0.85 and len(config.predict.scales) == 3
    assert config.detector.backbone == "mobilenet_v3_large_fpn"


def test_overrides_and_bad_keys(tmp_path, capsys):
    config = load_quickstart_config(None, ["synth.preset=small", "finetune.optim.max_epoch=1"])
    assert (config.synth.preset, config.finetune.optim.max_epoch) == ("small", 1)
    assert main(["quickstart", "--out", str(tmp_path / "q"), "finetune.optim.maxx=1"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()


def test_rows_change_only_their_settings():
    base = load_quickstart_config().finetune
    settings = {
        row.key: (c.data.train_augment, c.balance.cpia, c.balance.ls)
        for row in ROWS
        if row.trains
        for c in [row_config(base, row, seed=1)]
    }
    assert settings == {
        "1": (False, False, False),
        "2": (False, True, False),
        "3": (True, False, True),
        "4": (True, True, True),
    }
    assert row_config(base, ROWS[0], seed=2).train.seed == 2 and base.train.seed == 0


def test_frequency_thirds_and_table():
    groups = frequency_groups({1: 50, 2: 40, 3: 30, 4: 20, 5: 10, 6: 5}, [6, 5, 4, 3, 2, 1])
    assert groups == {"head": [1, 2], "middle": [3, 4], "tail": [5, 6]}
    table = [
        {
            "row": "1",
            "name": "baseline",
            "report_ava_val": 15.15,
            **{m: {"mean": 0.1, "std": 0.02} for m in ("mAP", "head", "middle", "tail")},
        }
    ]
    assert (
        "| 1 | baseline | 10.00 ± 2.00 | 10.00 ± 2.00 | 10.00 ± 2.00 | 10.00 ± 2.00 | 15.15 |"
        in format_table(table, 3)
    )


@pytest.mark.parametrize("rows", [["9"]])
def test_ablation_rejects_unknown_rows(tmp_path, rows):
    from avaloc.errors import InputError
    from avaloc.pipeline.ablate import run_ablation

    with pytest.raises(InputError, match="no known rows"):
        run_ablation(tmp_path, load_quickstart_config(), seeds=1, rows=rows)
