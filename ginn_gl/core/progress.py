"""A training run's state and progress as its readers see it, the end of a run, and the seam the
window reads a training run through (plain Python: the window never imports the trainer)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ginn_gl.core.config import TrainConfig
    from ginn_gl.core.experiment import BranchPoint
    from ginn_gl.core.history import History
    from ginn_gl.core.runfile import Run
    from ginn_gl.core.signals import SignalGuard
    from ginn_gl.core.targets import Target


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
    pace: float | None = None  # percent of the picture a second asked for (None: no limit; see core.pace)
    snapshot_rate: float = 0.0  # snapshots per second recorded, smoothed
    keeping_pace: bool = False  # the hardware is faster than the pace (the worker waits for it)
    change_rate: float = 0.0  # percent of the picture a second shown, smoothed
    pause_asked: bool = False  # a pause is asked for (the worker pauses at the end of its block)


@dataclass(frozen=True)
class Saving:
    """Where a training run's runs go when it ends: a path per seed, checked before training started."""

    paths: tuple[Path, ...]
    overwrite: bool = False


@dataclass(frozen=True)
class Finished:
    """How a training run ended: its runs (one per seed) and where they were saved."""

    runs: list[Run]
    saved: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each: a run saved elsewhere, or lost
    unmeasured: int = 0  # snapshots saved without their geometry (the helper lagged, died or was skipped)
    geometry_problem: str | None = None

    @property
    def failed(self) -> bool:
        """Some run could not be saved where it was asked to be."""
        return bool(self.problems)


class TrainingRun(Protocol):
    """What the window needs of a training run (the Trainer implements it)."""

    config: TrainConfig
    target: Target  # what it began on (painted versions are in its histories)
    branch: BranchPoint | None  # a branch's start: its parent's snapshot
    histories: list[History]
    message: str
    elapsed: float
    step: int

    @property
    def state(self) -> State: ...

    @property
    def done(self) -> bool: ...

    def progress(self) -> Progress: ...

    def start(self) -> TrainingRun: ...

    def join(self, timeout: float | None = None) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def set_pace(self, pace: float | None) -> None: ...

    @property
    def geometry_lag(self) -> int: ...

    @property
    def geometry_problem(self) -> str | None: ...

    def finish(self, saving: Saving | None = None, *, guard: SignalGuard | None = None, wait: bool = True,
               report: Callable[[int], None] | None = None, final: bool = True) -> Finished: ...
