"""Label subsampling: the report's formula, empirical drop rates, negatives, the class selection."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from avaloc.balance import (
    LabelSubsampler,
    format_label_subsampling_table,
    label_subsampling_probs,
    label_subsampling_table,
)
from avaloc.seeding import torch_generator

# The classes the report subsamples on AVA v2.2 train: sit, stand, walk, carry/hold, touch,
# listen to, talk to, watch (a person).
REPORT_SELECTION = {11, 12, 14, 17, 59, 74, 79, 80}


def test_probabilities_by_hand():
    counts = np.array([50_000, 20_000, 9_000, 1_000, 10_001])
    total = 100_000.0  # P = 50 %, 20 %, 9 %, 1 %, 10.001 %
    probs = label_subsampling_probs(counts, total, T=0.3, min_count=10_000)
    expected = [0.3 - 1 / 50, 0.3 - 1 / 20, 0.0, 0.0, 0.3 - 1 / 10.001]
    np.testing.assert_allclose(probs, expected)


def test_percent_not_fraction_and_the_one_over_t_threshold():
    # 12,000 of 500,000 = 2.4 %: selected (> min_count) but 1 / 2.4 > 0.3, so Prob = 0.
    # With P as a fraction (0.024) every class would get 0: the formula needs percent.
    probs = label_subsampling_probs(np.array([12_000, 400_000]), 500_000.0)
    assert probs[0] == 0.0
    assert probs[1] == pytest.approx(0.3 - 1 / 80)
    # a class is thinned only above 1 / T percent
    at_threshold = label_subsampling_probs(np.array([100_000 / 3]), 1_000_000.0, min_count=0)
    assert at_threshold[0] == pytest.approx(0.0, abs=1e-12)


def test_empirical_drop_rates_match_probabilities():
    drop = np.array([0.284, 0.26, 0.0, 0.1, 0.3])
    subsampler = LabelSubsampler(torch.tensor(drop))
    trials = 40_000
    labels = torch.ones(trials, len(drop))
    dropped = 1.0 - subsampler(labels, torch_generator(7, 0)).mean(dim=0).numpy()
    # Binomial(trials, p) / trials has standard deviation sqrt(p (1 - p) / trials) <= 0.0025;
    # 5 sigma (<= 0.0125) is missed by chance with probability < 1e-6 per class, and a wrong
    # probability (e.g. 1 - p, or P_i as a fraction) is off by far more than that.
    sigma = np.sqrt(drop * (1 - drop) / trials)
    assert np.all(np.abs(dropped - drop) <= 5 * sigma + 1e-12), (dropped, drop)
    assert dropped[2] == 0.0


def test_zeros_stay_zero_and_all_dropped_instances_stay_negative():
    subsampler = LabelSubsampler([1.0, 0.0, 1.0])
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    out = subsampler(labels, torch_generator(0))
    assert out.shape == labels.shape  # no row removed: an all-dropped instance is a negative
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0] * 3]))
    assert labels[0, 0] == 1.0  # input untouched


def test_fresh_draw_per_call_and_reproducible_per_seed():
    subsampler = LabelSubsampler([0.5] * 8)
    labels = torch.ones(64, 8)
    generator = torch_generator(1, 2)
    first = subsampler(labels, generator)
    second = subsampler(labels, generator)
    assert not torch.equal(first, second)
    torch.testing.assert_close(subsampler(labels, torch_generator(1, 2)), first)


def test_subsampler_checks_shapes_and_range():
    with pytest.raises(ValueError, match="classes"):
        LabelSubsampler([0.1, 0.2])(torch.ones(3, 5), torch_generator(0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        LabelSubsampler([1.5])


def test_table_lists_counts_shares_and_probabilities():
    rows = label_subsampling_table([12, 80, 5], [60_000, 30_000, 10_000], {12: "stand"})
    assert [r.action_id for r in rows] == [12, 80, 5]
    assert rows[0].share_percent == pytest.approx(60.0)
    assert rows[0].drop_prob == pytest.approx(0.3 - 1 / 60)
    assert [r.selected for r in rows] == [True, True, False]
    text = format_label_subsampling_table(rows)
    assert "stand" in text and "60.000" in text and "0.2833" in text


def _real_train_csv() -> Path:
    """Real AVA v2.2 train GT: $AVALOC_AVA_TRAIN_CSV or ../shared/data/ava/ava_train_v2.2.csv."""
    shared = Path(os.environ.get("AVALOC_SHARED", Path(__file__).resolve().parents[3] / "shared"))
    candidate = os.environ.get("AVALOC_AVA_TRAIN_CSV")
    path = Path(candidate) if candidate else shared / "data" / "ava" / "ava_train_v2.2.csv"
    if not path.is_file():
        pytest.skip(
            f"real AVA v2.2 train annotations not available ({path} absent; set "
            "AVALOC_AVA_TRAIN_CSV to the ava_train_v2.2.csv path to run this check)"
        )
    return path


@pytest.mark.slow
def test_selection_on_real_ava_v22_train_matches_the_report(ava_dir):
    from avaloc.formats import group_instances, read_ground_truth, read_label_map

    path = _real_train_csv()
    label_map = read_label_map(ava_dir / "ava_action_list_v2.2.pbtxt")
    instances = group_instances(read_ground_truth(path, label_ids=label_map.ids))
    counts = instances.class_counts()
    rows = label_subsampling_table(
        label_map.ids, [counts.get(c, 0) for c in label_map.ids], label_map.names
    )
    print("\n" + format_label_subsampling_table(rows))
    selected = {r.action_id for r in rows if r.selected}
    assert selected == REPORT_SELECTION, format_label_subsampling_table(rows, only_selected=True)
