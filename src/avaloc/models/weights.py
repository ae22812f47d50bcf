"""Loading weights into a model with a clear report, head replacement, avaloc checkpoints.

avaloc's own model checkpoint is a plain dict ``{"model_state": state dict, "model_config":
ModelConfig as a dict, "source": dict}`` (the engine adds optimizer, schedule and RNG states),
written atomically and read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avaloc.config import load_config
from avaloc.errors import InputError
from avaloc.fileio import atomic_path
from avaloc.models.config import ModelConfig
from avaloc.models.registry import build_model
from avaloc.models.slowfast import SlowFast

LOGGER = logging.getLogger(__name__)
HEAD_PREFIX = "head."
_MAX_LISTED = 8


@dataclass
class LoadReport:
    """What :func:`load_state` did: tensors loaded, and head tensors skipped (with why)."""

    source: str
    loaded: int = 0
    skipped_head: list[str] = field(default_factory=list)
    reason: str = ""

    def messages(self) -> list[str]:
        if not self.skipped_head:
            return []
        return [
            f"{self.source}: classification head not loaded ({self.reason}); it keeps its "
            f"fresh initialisation: {', '.join(self.skipped_head)}"
        ]


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(value.shape)


def _listing(title: str, items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return f"{len(items)} {title}: {shown}{more}"


def load_state(
    model: nn.Module,
    state: dict[str, Any],
    *,
    source: str,
    drop_head: bool = False,
    drop_head_reason: str = "",
    unexpected_extra: Iterable[str] = (),
) -> LoadReport:
    """Load ``state`` into ``model``: every backbone tensor present with its exact shape.

    Head tensors are skipped (reported, not an error) when ``drop_head`` is set or when their
    shapes differ (a head for another number of classes). Anything else missing, unexpected or
    mis-shaped raises one InputError listing the keys, and nothing is loaded.
    """
    expected = model.state_dict()
    report = LoadReport(source=source)
    head_mismatch = [
        k
        for k in expected
        if k.startswith(HEAD_PREFIX) and k in state and _shape(state[k]) != _shape(expected[k])
    ]
    if drop_head or head_mismatch:
        report.skipped_head = sorted(k for k in state if k.startswith(HEAD_PREFIX))
        if drop_head:
            report.reason = drop_head_reason or "dropped on request"
        else:
            key = head_mismatch[0]
            report.reason = (
                f"{key} is {list(_shape(state[key]))} in the checkpoint but "
                f"{list(_shape(expected[key]))} in the model: another number of classes"
            )
        state = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIX)}
        expected = {k: v for k, v in expected.items() if not k.startswith(HEAD_PREFIX)}
    missing = [k for k in expected if k not in state]
    unexpected = [*unexpected_extra, *(k for k in state if k not in expected)]
    mismatched = [
        f"{k} {list(_shape(state[k]))} vs model {list(_shape(expected[k]))}"
        for k in expected
        if k in state and _shape(state[k]) != _shape(expected[k])
    ]
    problems = [
        _listing(title, items)
        for title, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("mis-shaped keys", mismatched),
        )
        if items
    ]
    if problems:
        raise InputError(
            "the weights do not fit the model built from its config: " + "; ".join(problems),
            path=source,
        )
    model.load_state_dict(state, strict=not report.skipped_head)
    report.loaded = len(state)
    return report


def replace_classifier(
    model: SlowFast, num_classes: int, *, generator: torch.Generator | None = None
) -> SlowFast:
    """Give ``model`` a freshly initialised final linear layer for ``num_classes`` classes."""
    if num_classes < 1:
        raise InputError(f"must be >= 1 (got {num_classes})", key="model.num_classes")
    old = model.head.fc
    fc = nn.Linear(old.in_features, num_classes, device=old.weight.device, dtype=old.weight.dtype)
    std = model.config.fc_init_std or 0.01
    nn.init.normal_(fc.weight, std=std, generator=generator)
    nn.init.zeros_(fc.bias)
    model.head.fc = fc
    model.config = dataclasses.replace(model.config, num_classes=num_classes)
    return model


def adapt_checkpoint_classes(
    checkpoint: dict[str, Any], num_classes: int, *, generator: torch.Generator | None = None
) -> dict[str, Any]:
    """A copy of an avaloc checkpoint dict whose head predicts ``num_classes`` classes.

    The final linear layer is re-initialised (normal, std ``fc_init_std``; zero bias) and
    ``model_config.num_classes`` updated; the backbone and everything else are kept.
    """
    model = model_from_checkpoint(checkpoint)
    replace_classifier(model, num_classes, generator=generator)
    return checkpoint | {
        "model_state": model.state_dict(),
        "model_config": model.config.to_dict(),
    }


def require_tensor_state(state: Any, path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """``state`` if it is a dict of named tensors (a state dict), else InputError."""
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError("'model_state' is not a dict of named tensors", path=path)
    return state


def model_config_from_dict(data: dict[str, Any], source: str = "<checkpoint>") -> ModelConfig:
    """A ModelConfig from its plain-dict form (unknown keys and bad types: InputError)."""
    if not isinstance(data, dict):
        raise InputError("'model_config' is not a mapping", path=source)
    try:
        return load_config(ModelConfig, data=data)
    except InputError as exc:
        raise InputError(f"model_config: {exc.message}", path=source) from None


def model_from_checkpoint(checkpoint: dict[str, Any], *, source: str = "<checkpoint>") -> SlowFast:
    """Build the model an avaloc checkpoint dict describes and load its weights (strict)."""
    for key in ("model_state", "model_config"):
        if key not in checkpoint:
            raise InputError(f"not an avaloc model checkpoint: no '{key}'", path=source)
    state = require_tensor_state(checkpoint["model_state"], source)
    model = build_model(model_config_from_dict(checkpoint["model_config"], source))
    load_state(model, state, source=source)
    return model


def save_model_checkpoint(
    path: str | os.PathLike,
    model: SlowFast,
    *,
    source: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``{"model_state", "model_config", "source", **extra}`` atomically."""
    checkpoint = {
        "model_state": model.state_dict(),
        "model_config": model.config.to_dict(),
        "source": source or {},
        **(extra or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
    return Path(path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint dict read with ``weights_only=True``; InputError if unreadable or unsafe.

    Only tensors and plain containers are unpickled; a file that needs any other Python object
    is refused rather than unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint file not found", path=path)
    with open(path, "rb") as handle:
        header = handle.read(4)
    if header.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(path):
            raise InputError(
                "truncated or corrupt checkpoint (an incomplete zip archive)", path=path
            )
    elif not header.startswith(b"\x80"):  # torch.save's legacy format is a plain pickle
        raise InputError("not a PyTorch checkpoint (neither a zip archive nor a pickle)", path=path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():
            raise InputError(
                "refused to load: the file holds Python objects other than tensors and plain "
                "containers, and unpickling them could run arbitrary code "
                f"({_unsupported_global(exc)})",
                path=path,
            ) from None
        raise InputError(
            f"not a readable PyTorch checkpoint ({_first_line(exc)})", path=path
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(
            f"not a readable PyTorch checkpoint, truncated or corrupt? ({_first_line(exc)})",
            path=path,
        ) from None
    if not isinstance(checkpoint, dict):
        found = type(checkpoint).__name__
        raise InputError(f"a checkpoint must be a dict, found {found}", path=path)
    return checkpoint


def _unsupported_global(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if "unsupported global" in line.lower():
            return line.strip().split(". Please")[0].removeprefix("WeightsUnpickler error: ")
    return _first_line(exc)


def load_model_checkpoint(path: str | os.PathLike) -> SlowFast:
    """The model saved in an avaloc checkpoint file (e.g. by ``avaloc import-checkpoint``)."""
    return model_from_checkpoint(read_checkpoint(path), source=os.fspath(path))
