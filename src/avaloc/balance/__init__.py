"""Data balancing for AVA training: co-occurrence matrix, CP-IA, label subsampling, measures.

Labels only, no pixels: the dataset (``avaloc.data``) turns ``cpia_repeats`` into extra samples
(one instance's keyframe clip with only its box labelled, box jittered by ``jitter_box`` at load
time) and applies a ``LabelSubsampler`` as its per-sample label transform.
"""

from avaloc.balance.config import BalanceConfig, validate_balance_config
from avaloc.balance.cooccurrence import cooccurrence_matrix, label_columns
from avaloc.balance.cpia import (
    cpia_repeats,
    cpia_sample_instances,
    cpia_samples,
    jitter_box,
    jitter_boxes,
)
from avaloc.balance.measures import (
    BalanceMeasures,
    DiagonalBalance,
    EpochComposition,
    conditional_rows,
    diagonal_balance,
    epoch_composition,
    expected_com_after_subsampling,
    row_cosines,
    target_frontier,
)
from avaloc.balance.subsampling import (
    LabelSubsampler,
    SubsamplingRow,
    format_label_subsampling_table,
    label_subsampling_probs,
    label_subsampling_table,
)

__all__ = [
    "BalanceConfig",
    "BalanceMeasures",
    "DiagonalBalance",
    "EpochComposition",
    "LabelSubsampler",
    "SubsamplingRow",
    "conditional_rows",
    "cooccurrence_matrix",
    "cpia_repeats",
    "cpia_sample_instances",
    "cpia_samples",
    "diagonal_balance",
    "epoch_composition",
    "expected_com_after_subsampling",
    "format_label_subsampling_table",
    "jitter_box",
    "jitter_boxes",
    "label_columns",
    "label_subsampling_probs",
    "label_subsampling_table",
    "row_cosines",
    "target_frontier",
    "validate_balance_config",
]
