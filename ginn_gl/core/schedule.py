"""When snapshots are taken and what learning rate each step uses."""

from __future__ import annotations

import numpy as np

DENSE_STEPS = 50  # every step up to here is recorded, like the original GINN's first 49
SPACING_DIVISOR = 100  # afterwards the gap is step / 100: geometric growth of about 1% a snapshot


def next_snapshot_step(step: int, total: int) -> int:
    """The step after `step` at which the next snapshot is taken; `total` is always one."""
    if step < DENSE_STEPS:
        nxt = step + 1
    else:
        nxt = step + max(1, step // SPACING_DIVISOR)
    return min(nxt, total)


def snapshot_steps(total: int) -> np.ndarray:
    """Every snapshot step of a run of `total` steps: 0 (the initial network) to `total`."""
    steps = [0]
    while steps[-1] < total:
        steps.append(next_snapshot_step(steps[-1], total))
    return np.asarray(steps, dtype=np.int64)


SCHEDULES = ("cosine", "constant")


def learning_rates(base: float, schedule: str, first: int, count: int, total: int) -> np.ndarray:
    """Rates of optimiser steps first .. first+count-1 (0-based), float64 [count].

    Cosine follows torch's CosineAnnealingLR(T_max=total, eta_min=0) in closed form.
    """
    steps = np.arange(first, first + count, dtype=np.float64)
    if schedule == "constant" or total <= 0:
        return np.full(count, base, dtype=np.float64)
    return base * 0.5 * (1.0 + np.cos(np.pi * np.minimum(steps, total) / total))
