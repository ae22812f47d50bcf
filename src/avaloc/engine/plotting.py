"""``avaloc plot-log``: loss, learning-rate and validation curves of a run, as PNG files."""

from __future__ import annotations

import os
from pathlib import Path

from avaloc.engine.logs import read_metrics
from avaloc.errors import InputError
from avaloc.fileio import atomic_path

_NOT_METRICS = {"kind", "step", "epoch"}


def plot_log(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> list[Path]:
    """Draw ``loss.png``, ``lr.png`` and one ``val_<metric>.png`` per validation metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    if not records:
        raise InputError(
            "no metrics.jsonl records (is this a training run directory?)", path=run_dir
        )
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "plots"
    train = [r for r in records if r["kind"] == "train"]
    val = [r for r in records if r["kind"] == "val"]
    curves: dict[str, tuple[list[dict], str]] = {}
    if train:
        curves["loss"] = (train, "loss")
        curves["lr"] = (train, "lr")
    metric_names = sorted({k for r in val for k in r if k not in _NOT_METRICS})
    for name in metric_names:
        curves[f"val_{name}"] = (val, name)
    written = []
    for file_stem, (rows, key) in curves.items():
        points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), int | float)]
        if not points:
            continue
        figure, axis = plt.subplots(figsize=(6, 3.5), dpi=100)
        axis.plot(
            [p[0] for p in points], [p[1] for p in points], marker="o" if len(points) < 30 else None
        )
        axis.set_xlabel("iteration")
        axis.set_ylabel(key)
        axis.set_title(f"{Path(run_dir).name}: {file_stem.replace('_', ' ')}")
        axis.grid(alpha=0.3)
        figure.tight_layout()
        target = out / f"{file_stem}.png"
        with atomic_path(target) as tmp:
            figure.savefig(tmp)
        plt.close(figure)
        written.append(target)
    return written
