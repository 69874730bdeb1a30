"""When snapshots are taken and what learning rate each step uses."""

from __future__ import annotations

import functools

import numpy as np

DENSE_STEPS = 50  # every step up to here is recorded, like the original GINN's first 49
SPACING_DIVISOR = 100  # afterwards the gap is step / 100: geometric growth of about 1% a snapshot
SNAPSHOTS = ("geometric", "ginn")
# The original GINN's sampling: (first, stop, gap) ranges of its iteration numbers, for a run of
# `total` iterations; its last two ranges are relative to the run's half and its end.
GINN_RANGES = ((0, 50, 1), (50, 101, 2), (105, 200, 2), (200, 300, 5), (300, 500, 10), (500, 1000, 20),
               (1000, 2000, 50), (2000, 4000, 100), (4000, 10_000, 500))
GINN_LATE_GAPS = (5000, 10_000)  # from 10,000 to half the run, then to its end


def _geometric_next(step: int) -> int:
    return step + 1 if step < DENSE_STEPS else step + max(1, step // SPACING_DIVISOR)


@functools.lru_cache(maxsize=8)
def ginn_snapshot_steps(total: int) -> np.ndarray:
    """The original GINN's snapshots for a run of `total` steps, in optimiser steps: its iteration i
    was sampled after i + 1 updates; with the initial network (step 0) and the final step. For
    1,280,000 steps: its 431 snapshots, plus those two."""
    iterations = [np.arange(a, b, gap) for a, b, gap in GINN_RANGES]
    half = total // 2
    iterations += [np.arange(10_000, half, GINN_LATE_GAPS[0]), np.arange(half, total, GINN_LATE_GAPS[1])]
    steps = np.concatenate(iterations).astype(np.int64) + 1
    return np.unique(np.concatenate([[0], steps[steps < total], [total]]))


def next_snapshot_step(step: int, total: int, kind: str = "geometric") -> int:
    """The step after `step` at which the next snapshot is taken; `total` is always one."""
    if kind == "ginn":
        steps = ginn_snapshot_steps(total)
        return int(steps[np.searchsorted(steps, step, side="right")]) if step < total else total
    return min(_geometric_next(step), total)


def snapshot_steps(total: int, kind: str = "geometric") -> np.ndarray:
    """Every snapshot step of a run of `total` steps: 0 (the initial network) to `total`."""
    if kind == "ginn":
        return ginn_snapshot_steps(total).copy()
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
