"""A run killed with SIGKILL midway and resumed ends with bit-identical weights (CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from avaloc.engine import latest_checkpoint, load_checkpoint

SCRIPT = Path(__file__).with_name("toy_run.py")
# Dropout on, so the restored RNG state matters; mid-epoch checkpoints every 3 iterations, so the
# resumed run starts inside an epoch (the data position matters too).
COMMON = [
    "train.deterministic=true",
    "train.checkpoint_every_iters=3",
    "train.eval_period=2",
    "train.keep_last=2",
]


def run(run_dir: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(run_dir), "--dropout", "0.3", *extra, *COMMON],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(tmp_path):
    reference = tmp_path / "reference"
    finish(run(reference))

    killed = tmp_path / "killed"
    process = run(killed, "--delay", "0.02")
    # Wait for a checkpoint inside epoch 2 (8 iterations per epoch: step 11 = epoch 2, iter 3).
    deadline = time.monotonic() + 90
    while not (killed / "checkpoints" / "step_00000011.pt").exists():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    stopped_at = load_checkpoint(latest_checkpoint(killed))
    assert stopped_at["global_step"] < 32 and stopped_at["iteration"] > 0  # mid-epoch

    finish(run(killed, "--resume"))
    want = load_checkpoint(latest_checkpoint(reference))
    got = load_checkpoint(latest_checkpoint(killed))
    assert got["global_step"] == want["global_step"] == 32
    for name, tensor in want["model_state"].items():
        assert torch.equal(got["model_state"][name], tensor), name
    for a, b in zip(
        want["optimizer_state"]["state"].values(), got["optimizer_state"]["state"].values()
    ):
        assert torch.equal(a["momentum_buffer"], b["momentum_buffer"])
    # Sanity: the test can fail: the weights moved a lot since the checkpoint it resumed from.
    first = next(iter(want["model_state"]))
    assert not torch.allclose(
        stopped_at["model_state"][first], want["model_state"][first], atol=1e-3
    )
