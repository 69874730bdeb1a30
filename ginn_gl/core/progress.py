"""A training run's state and progress, as the trainer reports them to its readers (plain Python)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.Enum):
    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (State.FINISHED, State.STOPPED, State.DIVERGED, State.FAILED)


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    steps_per_second: float
    step_ms: float
    loss: float  # latest minibatch loss (first seed)
    state: State
    pace: float | None = None  # snapshots per second asked for (None: no limit)
    snapshot_rate: float = 0.0  # snapshots per second recorded, smoothed
    keeping_pace: bool = False  # the hardware is faster than the pace (the worker waits for it)
