"""Balance measures and the expected epoch composition, against hand values and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avaloc.balance import (
    BalanceConfig,
    LabelSubsampler,
    conditional_rows,
    cooccurrence_matrix,
    diagonal_balance,
    epoch_composition,
    expected_com_after_subsampling,
    label_subsampling_probs,
    row_cosines,
    target_frontier,
)
from avaloc.config import load_config
from avaloc.errors import InputError
from avaloc.seeding import torch_generator
from balance.helpers import make_instances


def test_diagonal_balance_by_hand():
    balance = diagonal_balance(np.array([1.0, 3.0]))
    assert balance.max_min_ratio == 3.0
    assert balance.coefficient_of_variation == pytest.approx(0.5)  # std 1, mean 2
    assert balance.gini == pytest.approx(0.25)  # mean absolute difference 1 / (2 * mean 2)
    assert diagonal_balance(np.full(5, 7.0)).gini == pytest.approx(0.0)
    assert diagonal_balance(np.array([0.0, 2.0])).max_min_ratio == float("inf")


def test_conditional_rows_and_cosines_by_hand():
    com = np.array([[4, 2, 0], [2, 2, 1], [0, 1, 0]])
    rows = conditional_rows(com)
    np.testing.assert_allclose(rows[0], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(rows[1], [1.0, 1.0, 0.5])
    np.testing.assert_allclose(rows[2], [0.0, 0.0, 0.0])  # absent class
    after = np.array([[4, 2, 2], [2, 2, 1], [2, 1, 3]])
    cos = row_cosines(com, after)
    # class 0 off-diagonal rows (0.5, 0) vs (0.5, 0.5): cosine 1 / sqrt(2)
    assert cos[0] == pytest.approx(1 / np.sqrt(2))
    assert cos[1] == pytest.approx(1.0)
    assert np.isnan(cos[2])  # no co-occurrence before: nothing to preserve


def test_uniform_replication_preserves_every_row_exactly():
    instances = make_instances([[1, 2], [2, 3], [1, 3], [1], [2, 3, 4]])
    com = cooccurrence_matrix(instances, [1, 2, 3, 4])
    tripled = cooccurrence_matrix(instances, [1, 2, 3, 4], weights=np.full(5, 3))
    np.testing.assert_allclose(row_cosines(com, tripled), 1.0)


def test_expected_com_after_subsampling_matches_monte_carlo():
    instances = make_instances([[1, 2], [1, 2, 3], [2], [1, 3], [3]] * 40)
    classes = [1, 2, 3]
    com = cooccurrence_matrix(instances, classes)
    drop = np.array([0.25, 0.0, 0.5])
    expected = expected_com_after_subsampling(com, drop)
    multi_hot = torch.zeros(len(instances), 3)
    for n in range(len(instances)):
        multi_hot[n, instances.labels_of(n) - 1] = 1.0
    subsampler = LabelSubsampler(drop)
    generator = torch_generator(5)
    draws = 400
    total = torch.zeros(3, 3, dtype=torch.float64)
    for _ in range(draws):
        kept = subsampler(multi_hot, generator).double()
        total += kept.T @ kept
    mean = (total / draws).numpy()
    # each entry is a mean of 400 sums of <= 200 Bernoulli terms: std <= sqrt(200 / 4 / 400)
    # ~= 0.35; 6 std ~= 2.1 absolute
    np.testing.assert_allclose(mean, expected, atol=2.1)
    assert expected[0, 0] == pytest.approx(com[0, 0] * 0.75)
    assert expected[0, 2] == pytest.approx(com[0, 2] * 0.75 * 0.5)


def _long_tailed_instances():
    rng = np.random.default_rng(0)
    label_sets = []
    for _ in range(3000):
        pose = rng.choice([1, 2, 3, 4], p=[0.6, 0.3, 0.08, 0.02])
        extra = rng.choice([5, 6, 7, 8], size=rng.integers(0, 3), p=[0.7, 0.2, 0.08, 0.02])
        label_sets.append([pose, *extra.tolist()])
    return make_instances(label_sets)


def test_epoch_composition_chains_cpia_then_ls():
    instances = _long_tailed_instances()
    classes = list(range(1, 9))
    config = BalanceConfig(cpia_target=400, cpia_max_repeat=10, ls_min_count=500)
    composition = epoch_composition(instances, classes, config)
    np.testing.assert_array_equal(composition.com_before, cooccurrence_matrix(instances, classes))
    np.testing.assert_array_equal(
        composition.com_after_cpia,
        cooccurrence_matrix(instances, classes, weights=1 + composition.repeats),
    )
    counts_cpia = composition.counts_after_cpia
    assert (counts_cpia >= composition.counts_before).all()
    # LS probabilities are computed on the AUGMENTED counts
    np.testing.assert_allclose(
        composition.drop_prob,
        label_subsampling_probs(counts_cpia, counts_cpia.sum(), 0.3, 500),
    )
    assert composition.drop_prob[0] > 0  # class 1 holds ~ 45 % of the labels
    np.testing.assert_allclose(
        composition.expected_counts, counts_cpia * (1 - composition.drop_prob)
    )
    measures = composition.measures
    assert measures.after.max_min_ratio < measures.before.max_min_ratio
    assert measures.after.gini < measures.before.gini
    assert 0 < measures.min_row_cosine <= measures.median_row_cosine <= 1


def test_switching_both_off_changes_nothing():
    instances = _long_tailed_instances()
    composition = epoch_composition(
        instances, list(range(1, 9)), BalanceConfig(cpia=False, ls=False)
    )
    assert composition.extra_samples == 0
    np.testing.assert_array_equal(composition.expected_com, composition.com_before)
    assert composition.measures.median_row_cosine == pytest.approx(1.0)
    assert composition.measures.ratio_reduction == pytest.approx(1.0)


def test_frontier_reduces_imbalance_as_target_grows():
    points = target_frontier(
        _long_tailed_instances(), list(range(1, 9)), [50, 200, 800], BalanceConfig(ls_min_count=500)
    )
    reductions = [p["ratio_reduction"] for p in points]
    assert reductions == sorted(reductions) and reductions[-1] > reductions[0]


def test_config_loads_and_rejects_bad_values():
    config = load_config(BalanceConfig, overrides=["cpia_target=300", "ls=false"])
    assert config.cpia_target == 300 and config.ls is False
    with pytest.raises(InputError, match="cpia_target"):
        load_config(BalanceConfig, overrides=["cpia_target=0"])
    with pytest.raises(InputError, match="unknown key"):
        load_config(BalanceConfig, overrides=["cpia_targett=3"])
    with pytest.raises(InputError, match="cpia_rule"):
        BalanceConfig(cpia_rule="uniform")


def test_default_target_is_a_share_of_all_labels():
    config = BalanceConfig()
    assert config.cpia_target is None
    assert config.resolved_target(840_000) == 8400  # 1 % of AVA v2.2 train's labels
    assert config.resolved_target(6101) == 61
    assert config.resolved_target(10) == 1
    assert BalanceConfig(cpia_target=250).resolved_target(840_000) == 250
    instances = _long_tailed_instances()
    composition = epoch_composition(instances, list(range(1, 9)), BalanceConfig())
    assert composition.cpia_target == round(len(instances.label_ids) / 100)
