"""Model tests run single-threaded: their tensors are tiny, and on a shared, oversubscribed CPU
two intra-op threads spin-waiting on each other made a 30 ms forward pass take seconds."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_intra_op_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
