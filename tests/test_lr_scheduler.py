"""nnlib.optim.lr_scheduler: the one-cycle schedule's warm-up and annealing, and the steps it refuses."""
import math

import numpy as np
import pytest

from nnlib.optim.lr_scheduler import one_cycle_lr
from nnlib.testing import assert_close


def test_one_cycle_lr_warms_up_linearly_then_anneals_along_a_cosine():
    total, max_lr = 200, 0.5
    lrs = np.array([one_cycle_lr(step, total, max_lr) for step in range(total)])
    warmup = math.ceil(0.15 * total)  # 30 steps
    assert_close(lrs[:warmup], max_lr * np.arange(1, warmup + 1) / warmup, rtol=1e-12, msg="linear warm-up")
    assert_close(lrs[warmup], max_lr, rtol=1e-12, msg="the peak, right after the warm-up")
    progress = (np.arange(warmup, total) - warmup) / (total - warmup)
    assert_close(lrs[warmup:], max_lr * (1 + np.cos(np.pi * progress)) / 2, rtol=1e-12, msg="cosine annealing")
    assert np.all(np.diff(lrs[warmup:]) < 0) and 0 < lrs[-1] < 1e-3 * max_lr
    assert_close(one_cycle_lr(0, 10, 1.0, pct_start=0.0), 1.0, msg="no warm-up: start at the peak")


@pytest.mark.parametrize("step, total, pct_start", [(-1, 10, 0.15), (10, 10, 0.15), (0, 10, 1.0), (0, 10, -0.1)])
def test_one_cycle_lr_rejects_steps_outside_the_run(step, total, pct_start):
    with pytest.raises(ValueError, match="one_cycle_lr"):
        one_cycle_lr(step, total, 0.1, pct_start=pct_start)
