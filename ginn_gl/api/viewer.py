"""The window of `ginn_gl.watch`, in a process of its own (`python -m ginn_gl.api.viewer`): the
existing App on a History that a pipe from the user's process feeds. GLFW runs on this process's main
thread; a reader thread takes the pipe. The window outlives the stream: it stays for scrubbing until
closed, whatever the user's process does meanwhile."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import fields, replace

import numpy as np

from ginn_gl.api.stream import END, GEOMETRY, LOSSES, PROGRESS, SNAPSHOT, Header, Reader, StreamError, config
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.experiment import BranchPoint
from ginn_gl.core.history import History
from ginn_gl.core.network import parameter_count
from ginn_gl.core.pace import DEFAULT_PACE
from ginn_gl.core.progress import Finished, Progress, Saving, State
from ginn_gl.core.selection import hidden_count
from ginn_gl.core.signals import SignalGuard
from ginn_gl.core.targets import Target

STATES = {state.value: state for state in State}
VIEWER_NICE = 10  # a spectator: where cores are few, the user's loop comes first


class StreamedRun:
    """A training run in another process, as the window reads one (core.progress.TrainingRun), fed by
    the pipe. Pause holds new snapshots back (the view stands still) until resumed; the user's loop
    itself is never paused, paced or restarted from here."""

    def __init__(self, config: TrainConfig, history: History, planned: bool, target: np.ndarray | None = None):
        self.config = config
        self.target = Target(config.image, np.zeros((1, 1), np.uint8) if target is None else target, "watched")
        self.branch: BranchPoint | None = None  # the user's loop is never restarted or branched from here
        self.histories = [history]
        self.message = ""
        self.elapsed = 0.0
        self.step = 0
        self._planned = planned  # the loop said how long it runs: the progress bar's total
        self._state = State.RUNNING
        self._rate = 0.0
        self._loss = math.nan
        self._lag = 0
        self._pace: float | None = DEFAULT_PACE
        self._held: list[Callable[[], None]] | None = None  # while paused: what arrived, in order
        self._lock = threading.Lock()

    # ---- what the window reads and asks ------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def done(self) -> bool:
        return self._state.done

    def progress(self) -> Progress:
        total = self.config.steps
        return Progress(self.step, max(total, self.step), self._rate, 1000.0 / self._rate if self._rate else 0.0,
                        self._loss, self._state, self._pace, pause_asked=self._held is not None)

    def start(self) -> StreamedRun:
        return self

    def join(self, timeout: float | None = None) -> None:
        return None

    def pause(self) -> None:
        with self._lock:
            if self._held is None and not self.done:
                self._held = []

    def resume(self) -> None:
        with self._lock:
            held, self._held = self._held or [], None
            for apply in held:
                apply()

    def set_pace(self, pace: float | None) -> None:
        self._pace = pace  # kept for the panel: the loop runs at its own speed

    @property
    def geometry_lag(self) -> int:
        return self._lag

    @property
    def geometry_problem(self) -> str | None:
        return None

    def finish(self, saving: Saving | None = None, *, guard: SignalGuard | None = None, wait: bool = True,
               report: Callable[[int], None] | None = None, final: bool = True) -> Finished:
        return Finished([])  # the user's process saves the run

    # ---- what the pipe brings (the reader thread) ---------------------------------------------------

    def _apply(self, change: Callable[[], None]) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(change)
            else:
                change()

    def snapshot(self, step: int, loss: float, weights: np.ndarray) -> None:
        history = self.histories[0]
        self._apply(lambda: history.push(step, weights, loss) if step > history.latest_step() else None)

    def geometry(self, step: int, regions: int, density: np.ndarray, status: np.ndarray) -> None:
        self._apply(lambda: self.histories[0].set_geometry(step, regions, density, status))

    def losses(self, steps: np.ndarray, values: np.ndarray) -> None:
        curve = self.histories[0].losses
        keep = steps > curve.last_step
        steps, values = steps[keep], values[keep]
        if len(steps):
            curve.push(np.repeat(values, np.diff(np.concatenate([[curve.last_step], steps]))))

    def progressed(self, step: int, rate: float, loss: float, seconds: float, lag: int) -> None:
        self.step, self._rate, self._loss, self.elapsed, self._lag = step, rate, loss, seconds, lag
        if not self._planned and step > self.config.steps:
            self.config = replace(self.config, steps=step)  # the loop's length is known only as it goes

    def ended(self, state: str, message: str) -> None:
        self.message = message
        self._lag = 0
        self._state = STATES.get(state, State.STOPPED)


def feed(run: StreamedRun, reader: Reader) -> None:
    """The reader thread: the pipe into the run until it ends (an ended pipe without END: stopped)."""
    handlers: dict[int, Callable[..., None]] = {SNAPSHOT: run.snapshot, GEOMETRY: run.geometry, LOSSES: run.losses,
                                                PROGRESS: run.progressed, END: run.ended}
    try:
        while True:
            tag, values = reader.next()
            handlers[tag](*values)
            if tag == END:
                return
    except (EOFError, OSError, StreamError) as exc:
        if not run.done:
            why = "ended" if isinstance(exc, (EOFError, OSError)) else f"sent bad data ({exc})"
            run.ended(State.STOPPED.value, f"the recording process {why}; the window keeps what it received")


def open_window(header: Header, run: StreamedRun):
    """The App on the streamed run, with the view options of watch()."""
    from pathlib import Path

    from ginn_gl.api.options import view_settings
    from ginn_gl.ui.app import App
    from ginn_gl.ui.session import Entry, Session, Track

    options = header.options
    track = Track(run.histories[0], header.target, header.sizes, str(options["activation"]), 0, str(options["label"]))
    session = Session([Entry([track], trainer=run)], device=f"watching on {options['device']}")
    frame_log = Path(options["frame_log"]) if options.get("frame_log") else None
    app = App(session, title=str(options["title"]), fps=float(options["fps"]),
              size=(int(options["size"][0]), int(options["size"][1])), frame_log=frame_log,
              frame_log_overwrite=bool(options.get("frame_log_overwrite", False)))
    view = view_settings(header.sizes, options["view"])
    for field in fields(view):
        setattr(app.settings.view, field.name, getattr(view, field.name))
    return app


def main() -> int:
    from ginn_gl.train.geometry_helper import PipeReader

    pipe = PipeReader(sys.stdin.buffer)
    try:
        header = Header.read(pipe.read)
    except (EOFError, StreamError) as exc:
        print(f"error: the viewer got no usable header ({exc}); ginn_gl.watch starts it", flush=True)
        return 2
    options = header.options
    sizes = header.sizes
    history = History(parameter_count(sizes), int(float(options["history_mb"]) * 2**20), n_hidden=hidden_count(sizes))
    history.add_target(0, header.target)  # the loop's one target, in force from its first step
    run = StreamedRun(config(options), history, planned=int(options["steps"]) > 0, target=header.target)
    try:
        app = open_window(header, run)
    except Exception as exc:  # noqa: BLE001 - no display, no OpenGL: one line for the user's process
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        reason = reason.split("; ")[0]  # the problem, not the command line's advice after it
        print(f"error: {reason}", flush=True)
        return 2
    print("open", flush=True)
    threading.Thread(target=feed, args=(run, Reader(header, pipe.read)), daemon=True, name="ginn-gl-stream").start()
    started = time.perf_counter()
    try:
        app.run()
    except Exception as exc:  # noqa: BLE001 - the user's loop goes on: one warning there, not a silent end
        print(f"failed: {exc.__class__.__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}",
              flush=True)
        return 1
    finally:
        app.close()
    print(f"closed after {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LP_NUM_THREADS", "1")  # the user's loop keeps the other cores
    if hasattr(os, "nice"):
        os.nice(VIEWER_NICE)
    raise SystemExit(main())
