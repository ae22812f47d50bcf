"""avaloc checkpoints: plain dicts of tensors and primitives, written atomically.

A checkpoint holds everything to rebuild the model (``model_config``) and to continue the run
exactly where it stopped (``run_config``, optimizer, gradient scaler, RNG states, the epoch and the
number of iterations already done in it). It loads with ``torch.load(weights_only=True)``: no
arbitrary object is ever unpickled. Layout of a run directory::

    RUN_DIR/checkpoints/step_00001234.pt    periodic, the last ``keep_last`` kept
    RUN_DIR/checkpoints/step_00001234.yaml  the resolved run config beside it
    RUN_DIR/checkpoints/best.pt (+ .yaml)   the best validation metric so far
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from avaloc.errors import InputError
from avaloc.fileio import atomic_path, atomic_write

FORMAT = "avaloc-checkpoint"
VERSION = 1
_STEP_NAME = re.compile(r"^step_(\d{8,})\.pt$")


def checkpoint_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "checkpoints"


def step_checkpoint_path(run_dir: str | os.PathLike, global_step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step_{global_step:08d}.pt"


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Periodic checkpoints of a run, oldest first (by global step, not by file time)."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_NAME.match(p.name))]
    return [path for _, path in sorted(found)]


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def save_checkpoint(
    state: dict[str, Any], path: str | os.PathLike, run_config: dict[str, Any] | None = None
) -> Path:
    """Write ``state`` atomically (temp file + rename) and the resolved config beside it."""
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    config = run_config if run_config is not None else state.get("run_config")
    if config is not None:
        with atomic_write(path.with_suffix(".yaml")) as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
    return path


def prune_checkpoints(run_dir: str | os.PathLike, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` periodic checkpoints; ``best.pt`` is kept."""
    removed = []
    for path in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        path.unlink(missing_ok=True)
        path.with_suffix(".yaml").unlink(missing_ok=True)
        removed.append(path)
    return removed


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load an avaloc checkpoint safely; a file that is not one is a clear InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint not found", path=path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated file, foreign pickle, not a torch file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot load checkpoint ({first[:200]})", path=path) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(
            "not an avaloc checkpoint (PySlowFast .pyth files go through "
            "avaloc.models.load_pyslowfast_checkpoint or train.init_checkpoint)",
            path=path,
        )
    if state.get("version", 0) > VERSION:
        raise InputError(f"checkpoint version {state['version']} is newer than this avaloc")
    return state


def capture_rng_state() -> dict[str, Any]:
    """The global torch RNG states (dropout and friends draw from them) as tensors."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DistributedDataParallel (or a compiled wrapper)."""
    while isinstance(model, DistributedDataParallel):
        model = model.module
    inner = getattr(model, "_orig_mod", None)
    return inner if isinstance(inner, nn.Module) else model
