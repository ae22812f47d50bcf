"""Run logs: JSONL metrics (rewritten atomically) and TensorBoard event files, rank 0 only.

``RUN_DIR/metrics.jsonl`` holds one JSON object per line: ``{"kind": "train", "epoch",
"step", "loss", "lr", "clips_per_s"}`` every ``log_period`` iterations, ``{"kind": "val",
"epoch", "step", "<metric>": ...}`` after each validation, ``{"kind": "summary", ...}`` at the end.
On resume the records after the checkpoint's step are dropped, so the log matches the weights.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from avaloc.fileio import atomic_write

METRICS_FILE = "metrics.jsonl"
#: the JSONL file is rewritten at least this often (and at every checkpoint).
FLUSH_SECONDS = 30.0


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/metrics.jsonl`` (empty if there is none yet)."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class MetricsLogger:
    """Collects records, rewrites the JSONL file on flush, mirrors scalars to TensorBoard."""

    def __init__(self, run_dir: str | os.PathLike, *, enabled: bool, resume_step: int = 0):
        """``resume_step`` > 0 keeps the records up to that step; 0 starts a new log."""
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.records: list[dict[str, Any]] = []
        self._writer = None
        self._flushed_at = time.monotonic()
        if not enabled:
            return
        if resume_step > 0:
            self.records = [r for r in read_metrics(run_dir) if r.get("step", 0) <= resume_step]
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(
            log_dir=str(self.run_dir / "tensorboard"), purge_step=resume_step
        )

    def log(self, kind: str, step: int, **values: Any) -> None:
        if not self.enabled:
            return
        record = {"kind": kind, "step": step, **{k: _clean(v) for k, v in values.items()}}
        self.records.append(record)
        for key, value in values.items():
            if isinstance(value, int | float) and key not in ("epoch", "step"):
                self._writer.add_scalar(f"{kind}/{key}", value, step)
        if time.monotonic() - self._flushed_at > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self.enabled:
            return
        self._flushed_at = time.monotonic()
        with atomic_write(self.run_dir / METRICS_FILE) as handle:
            for record in self.records:
                handle.write(json.dumps(record) + "\n")
        self._writer.flush()

    def close(self) -> None:
        if self.enabled:
            self.flush()
            self._writer.close()
