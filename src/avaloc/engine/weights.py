"""Model weights in and out of checkpoints: pre-trained initialisation and model loading.

Fine-tuning starts from an avaloc checkpoint (pre-training or otherwise) or a PySlowFast
``.pyth``; tensors whose name and shape match are loaded, the others (typically the
classification head: 400 Kinetics classes vs 80 AVA actions) are dropped with a message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avaloc.config import load_config
from avaloc.engine.checkpoint import load_checkpoint
from avaloc.engine.config import RunConfig, run_config_from_dict
from avaloc.errors import InputError

#: the parameters of the model's head (``SlowFast.head``): the rest is the backbone.
HEAD_PREFIX = "head."


def _head_type(model_config: Any) -> str | None:
    head = getattr(model_config, "head", None)
    if isinstance(model_config, dict):
        from avaloc.models import ModelConfig, resolve_config

        try:
            head = resolve_config(load_config(ModelConfig, data=model_config)).head
        except InputError:
            return None
    return head


def _source_state(path: Path) -> tuple[dict[str, torch.Tensor], str | None]:
    """The tensors of a pre-trained checkpoint and its head type (roi, classification, None)."""
    if path.suffix == ".pyth":
        from avaloc.models import load_pyslowfast_checkpoint

        source = load_pyslowfast_checkpoint(path)
        return source.state_dict(), _head_type(getattr(source, "config", None))
    state = load_checkpoint(path)
    return state["model_state"], _head_type(state.get("model_config"))


def load_matching_state(
    model: nn.Module, source: dict[str, torch.Tensor]
) -> tuple[list[str], list[str], list[str]]:
    """Copy tensors of equal name and shape into ``model``.

    Returns (loaded, dropped: shape or name not in the model, missing: model keys not in source).
    """
    target = model.state_dict()
    loaded, dropped = [], []
    matched = {}
    for name, tensor in source.items():
        if name in target and target[name].shape == tensor.shape:
            matched[name] = tensor
            loaded.append(name)
        else:
            shape = "absent" if name not in target else f"{tuple(target[name].shape)}"
            dropped.append(f"{name} {tuple(tensor.shape)} (model: {shape})")
    missing = [name for name in target if name not in matched]
    model.load_state_dict(matched, strict=False)
    return loaded, dropped, missing


def load_pretrained_weights(model: nn.Module, path: str | os.PathLike) -> str:
    """Initialise ``model`` from ``path``; return a short report of what was loaded.

    A head of another type than the model's (a clip-classification head when fine-tuning for
    detection) is dropped even when its shape happens to match: its classes are not the same.
    """
    path = Path(path)
    source, source_head = _source_state(path)
    target_head = _head_type(getattr(model, "config", None))
    lines = []
    if source_head and target_head and source_head != target_head:
        head_keys = [k for k in source if k.startswith(HEAD_PREFIX)]
        source = {k: v for k, v in source.items() if not k.startswith(HEAD_PREFIX)}
        lines.append(
            f"dropped the source's {source_head} head ({', '.join(head_keys)}): "
            f"a new {target_head} head is trained"
        )
    loaded, dropped, missing = load_matching_state(model, source)
    lines.insert(0, f"init from {path}: loaded {len(loaded)} tensors")
    if dropped:
        lines.append(f"dropped {len(dropped)} (new head or different shape): " + "; ".join(dropped))
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        lines.append(f"left at initialisation {len(missing)}: {shown}")
    return "\n".join(lines)


def load_model_from_checkpoint(
    path: str | os.PathLike,
    *,
    build: Callable[[RunConfig], nn.Module] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module, RunConfig]:
    """The model of an avaloc checkpoint (in eval mode) and the run config that trained it."""
    state = load_checkpoint(path, map_location=map_location)
    config = run_config_from_dict(state["run_config"])
    if build is None:
        from avaloc.models import ModelConfig, build_model

        model = build_model(load_config(ModelConfig, data=state["model_config"]))
    else:
        model = build(config)
    model.load_state_dict(state["model_state"])
    model.eval()
    return model, config
