"""Initialising a model from a pre-training checkpoint (avaloc ``.pt`` or PySlowFast ``.pyth``).

The typical path: a classification model pre-trained on Kinetics initialises an AVA detection
model. The backbone must match exactly (every tensor, every shape); the head is loaded only when
it is the same kind of head for the same number of classes, and is otherwise dropped with a
message, keeping the fresh initialisation.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from avaloc.errors import InputError
from avaloc.models.pyslowfast import config_from_pyslowfast_cfg, convert_pyslowfast_state
from avaloc.models.registry import resolve_config
from avaloc.models.slowfast import SlowFast
from avaloc.models.weights import LoadReport, load_state, model_config_from_dict, read_checkpoint

LOGGER = logging.getLogger(__name__)


def _source_state(
    checkpoint: dict[str, Any], path: str
) -> tuple[dict[str, Any], list[str], str | None, int | None]:
    """(state in avaloc names, unmapped keys, head type, number of classes) of a checkpoint."""
    if "model_config" in checkpoint:
        resolved = resolve_config(model_config_from_dict(checkpoint["model_config"], path))
        return dict(checkpoint["model_state"]), [], resolved.head, resolved.num_classes
    if isinstance(checkpoint.get("cfg"), str):
        config = config_from_pyslowfast_cfg(checkpoint["cfg"], path)
        state, unknown = convert_pyslowfast_state(checkpoint["model_state"])
        return state, unknown, config.head, config.num_classes
    raise InputError(
        "not a model checkpoint: expected avaloc's 'model_state' + 'model_config' or "
        "PySlowFast's 'model_state' + 'cfg'",
        path=path,
    )


def load_pretrained(model: SlowFast, path: str | os.PathLike) -> LoadReport:
    """Load a pre-training checkpoint's weights into ``model`` (see the module docstring)."""
    source = os.fspath(path)
    checkpoint = read_checkpoint(path)
    if "model_state" not in checkpoint:
        raise InputError("not a model checkpoint: no 'model_state'", path=path)
    state, unknown, head, num_classes = _source_state(checkpoint, source)
    reason = ""
    if head != model.config.head:
        reason = f"the checkpoint has a {head} head, the model a {model.config.head} head"
    elif num_classes != model.config.num_classes:
        reason = f"{num_classes} classes in the checkpoint, {model.config.num_classes} in the model"
    report = load_state(
        model,
        state,
        source=source,
        drop_head=bool(reason),
        drop_head_reason=reason,
        unexpected_extra=unknown,
    )
    for line in report.messages():
        LOGGER.warning(line)
    return report
