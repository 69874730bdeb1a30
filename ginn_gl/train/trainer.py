"""The training worker: a thread that runs the step engine and records into the histories, and the
owner of a run's whole life, from start to the saved file (Trainer.finish).

It never waits for a reader; readers (the window, the saver) take what they need from the
histories at any time. A stop is honoured between steps on a CPU, and on CUDA between graph
replays: a full block of 256 steps is replayed without a check (a few ms on a GPU); pause and
resume between blocks. While waiting for the pace, a stop is seen within 50 ms.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ginn_gl import __version__
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.exact import EXACT
from ginn_gl.core.experiment import BranchPoint, branch_point, check_branch
from ginn_gl.core.history import History
from ginn_gl.core.network import parameter_count
from ginn_gl.core.pace import Pacer
from ginn_gl.core.progress import Finished, Progress, Saving, State
from ginn_gl.core.runfile import Run, now_iso, save_with_fallback
from ginn_gl.core.schedule import learning_rates, next_snapshot_step
from ginn_gl.core.selection import hidden_count
from ginn_gl.core.signals import SignalGuard
from ginn_gl.core.sources import load_target
from ginn_gl.core.targets import Target, file_sha256
from ginn_gl.train.engine import EngineSpec, StepEngine
from ginn_gl.train.geometry_helper import GeometryHelper

GEOMETRY_WAIT_FINISHED = 60.0  # s a whole run's file waits at most for its last snapshots' geometry
GEOMETRY_WAIT_STOPPED = 1.0  # ... and after a stop, when someone waits for the program to end
STOP_SECONDS = 10.0  # the worker ends in milliseconds; the margin is for a loaded machine


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise UserError(f"--device cuda was asked for, but CUDA is not available (torch "
                        f"{torch.__version__}, {build}); use --device cpu or --device auto")
    return torch.device(name)


class TrainingFailed(RuntimeError):
    """An exception raised inside the worker thread, re-raised in the thread that joins it."""


@contextmanager
def _shield(guard: SignalGuard | None) -> Iterator[None]:
    if guard is None:
        yield
    else:
        with guard.shielded():
            yield


class Trainer:
    """Trains `config.seeds` networks on `target` in a worker thread, with a geometry helper beside it,
    and ends both (finish): one owner for the run's whole life.

    Only the worker writes the trainer's state; other threads ask through events (pause, resume,
    stop), which the worker honours between steps (stop) and blocks (pause).
    """

    def __init__(self, config: TrainConfig, target: Target, block: int = 256, pace: float | None = None,
                 measure_geometry: bool = True, branch: BranchPoint | None = None):
        self.config = config
        self.target = target
        self.device = resolve_device(config.device)
        # A branch starts from its parent's snapshot (read from config.parent's file unless given: the window
        # branches from a run it has not saved yet), checked before anything is built; its target may differ.
        self.branch = branch
        if branch is None and config.parent is not None and config.at is not None:
            self.branch = branch_point(config.parent, config.at)
        if self.branch is not None:
            check_branch(config, self.branch)
        self.switches = [(step, self._same_size(load_target(spec, config.resolution, config.threshold), spec))
                         for step, spec in config.switches]
        spec = EngineSpec(config.sizes, config.activation, list(config.seeds), config.batch_size,
                          block=block, head=config.head)
        self.engine = StepEngine(spec, target.pixels, self.device)
        if self.branch is not None:  # its weights for every seed; Adam starts afresh (not in a run file)
            self.engine.set_parameters(np.repeat(self.branch.weights[None], len(config.seeds), axis=0))
        n_params, n_hidden = parameter_count(config.sizes), hidden_count(config.sizes)
        try:
            self.histories = [History(n_params, int(config.history_mb * 2**20), n_hidden=n_hidden)
                              for _ in config.seeds]
        except ValueError as exc:
            raise UserError(f"--history-mb {config.history_mb:g} is too small: {exc}") from None
        self.start_step, self.total = config.start_step, config.total_steps
        self.step = self.start_step
        self.state = State.READY
        self.message = ""
        self.error: BaseException | None = None
        self.steps_per_second = 0.0
        self.step_ms = 0.0
        self.last_loss = float("nan")
        self.elapsed = 0.0
        self.pacer = Pacer(pace)  # the window trains at a pace in snapshots/s; `train` never waits
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished: Finished | None = None
        self._painted: np.ndarray | None = None  # a target painted in the window, in force from the next snapshot
        self._painted_lock = threading.Lock()
        self.painted_at: float | None = None  # when the last painted target was taken up (perf_counter)
        self.geometry = GeometryHelper(target.pixels, config.sizes, config.activation, self.histories,
                                       enabled=measure_geometry)
        for history in self.histories:
            history.add_target(self.start_step, target.pixels)
            history.losses.start_at(self.start_step)
        self._record_snapshot()  # the initial network, so readers have something at once

    # ---- control (any thread) -------------------------------------------------------------

    def start(self) -> Trainer:
        if self._thread is not None:
            raise RuntimeError("a Trainer starts once; make a new one to train again")
        self._thread = threading.Thread(target=self._run, name="ginn-gl-trainer", daemon=True)
        self._thread.start()
        return self

    def set_target(self, pixels: np.ndarray) -> None:
        """A new version of the target (painted), from any thread: the worker takes it up at its next snapshot,
        whose loss it is measured against, and trains on it from the step after. Strokes that arrive
        between two snapshots make one version."""
        if pixels.shape != self.target.shape:
            raise ValueError(f"a painted target of {pixels.shape} for a run on {self.target.shape}")
        with self._painted_lock:
            self._painted = np.array(pixels, dtype=np.uint8)

    def set_parent_file(self, path: Path) -> None:
        """Where a branch's parent was saved (the window saves it first): its meta names that file and its sha256."""
        if self.branch is not None:
            self.branch = replace(self.branch, path=Path(path), sha256=file_sha256(Path(path)))

    def _same_size(self, target: Target, spec: str) -> np.ndarray:
        if target.shape != self.target.shape:
            raise UserError(f"--switch {spec}: its target is {target.shape[1]}x{target.shape[0]}, the run's is "
                            f"{self.target.shape[1]}x{self.target.shape[0]}; switch to a picture of the same size")
        return target.pixels

    def set_pace(self, pace: float | None) -> None:
        """How fast the picture may change, in percent of it a second (None: as fast as the hardware goes);
        from any thread."""
        self.pacer.pace = pace

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Ask the worker to stop and wait up to `timeout` s; True when it has ended (see the module's
        docstring for where a stop is honoured)."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker; an exception it raised is raised here."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise TrainingFailed(f"training failed: {self.error!r}") from self.error

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def done(self) -> bool:
        return self.state.done

    @property
    def geometry_lag(self) -> int:
        """Snapshots recorded whose geometry the helper has not measured yet."""
        return self.geometry.lag

    @property
    def geometry_problem(self) -> str | None:
        return self.geometry.problem

    def progress(self) -> Progress:
        pacer = self.pacer
        return Progress(self.step, self.total, self.steps_per_second, self.step_ms, self.last_loss,
                        self.state, pacer.pace, pacer.rate, pacer.keeping_pace, pacer.change_rate,
                        self._pause.is_set())

    # ---- the worker --------------------------------------------------------------------------

    def _run(self) -> None:
        started = time.perf_counter()
        self.state = State.RUNNING
        try:
            self.state = self._train()
        except BaseException as exc:  # noqa: BLE001 - handed to the joining thread
            self.error = exc
            self.message = f"training failed at step {self.step}: {exc!r}"
            self.state = State.FAILED
        finally:
            self.elapsed = time.perf_counter() - started

    def _train(self) -> State:
        """The training loop; returns the state it ends in."""
        cfg, engine = self.config, self.engine
        total, start = self.total, self.start_step
        switches = list(self.switches)
        while self.step < total and not self._stop.is_set():
            if self._pause.is_set():
                self.state = State.PAUSED
                self._stop.wait(0.02)
                continue
            self.state = State.RUNNING
            # The next snapshot follows the last one recorded, however many blocks reach it.
            target_step = next_snapshot_step(self.histories[0].latest_step(), total, cfg.snapshots)
            count = min(target_step - self.step, engine.block)
            if switches:  # a block ends where the target switches: the step after trains on the new one
                count = min(count, switches[0][0] - self.step)
            first = self.step
            t0 = time.perf_counter()
            # A branch's schedule and Adam count from its start: a fresh optimiser over its own steps.
            engine.prepare_block(first - start, count,
                                 learning_rates(cfg.lr, cfg.schedule, first - start, count, total - start))
            done = engine.run_block(count, self._stop)
            losses = engine.block_losses(done)
            dt = time.perf_counter() - t0
            bad = ~np.isfinite(losses)
            if bad.any():
                k, s = np.argwhere(bad)[0]
                for seed_index, history in enumerate(self.histories):
                    history.losses.push(losses[:k, seed_index])
                return self._diverged(first + int(k) + 1, int(s), float(losses[k, s]))
            for seed_index, history in enumerate(self.histories):
                history.losses.push(losses[:, seed_index])
            self.step = first + done
            if done:
                self.last_loss = float(losses[-1, 0])
                self._update_rate(done, dt)
            if switches and self.step == switches[0][0]:
                self._take_target(switches.pop(0)[1])
            if self.step == target_step and (diverged := self._record_snapshot(paced=True)):
                return diverged
        if self.step < total and (diverged := self._record_snapshot()):  # stopped: keep what was done
            return diverged
        return State.FINISHED if self.step >= total else State.STOPPED

    def _wait_for_pace(self, change: float) -> bool:
        """Sleep until the pace lets a snapshot that changes the picture by `change` percent be recorded;
        True if it had to wait. Sleeps in slices, so a stop request (or a change of pace) takes effect
        within 50 ms."""
        waited = False
        while not self._stop.is_set():
            delay = self.pacer.delay(time.perf_counter(), change)
            if delay <= 0.0:
                break
            waited = self.pacer.keeping_pace = True  # ahead of the pace already while it waits
            self._stop.wait(min(delay, 0.05))
        return waited

    def _update_rate(self, done: int, dt: float) -> None:
        if dt <= 0:
            return
        weight = 1.0 - math.exp(-dt / 0.5)  # about half a second of smoothing
        rate = done / dt
        self.steps_per_second += weight * (rate - self.steps_per_second) if self.steps_per_second else rate
        self.step_ms = 1000.0 / self.steps_per_second

    def _record_snapshot(self, paced: bool = False) -> State | None:
        """Push the current parameters of every seed (`paced`: once the pace lets the picture change by as
        much as they change it); if they diverged, push nothing and return State.DIVERGED."""
        if self.histories[0].latest_step() >= self.step:
            return None
        with self._painted_lock:
            painted, self._painted = self._painted, None
        if painted is not None:
            self._take_target(painted)
            self.painted_at = time.perf_counter()
        weights = self.engine.parameters()
        losses, change = self.engine.domain_pass()
        bad = ~np.isfinite(losses) | ~np.isfinite(weights).all(axis=1)
        if bad.any():
            seed = int(np.argmax(bad))
            return self._diverged(self.step, seed, float(losses[seed]))
        if paced:  # the fastest-changing seed sets the pace: every cell's picture stays watchable
            waited = self._wait_for_pace(float(change.max()))
            self.pacer.recorded(time.perf_counter(), waited, float(change.max()))
        for s, history in enumerate(self.histories):
            history.push(self.step, weights[s], float(losses[s]))
        self.geometry.submit(self.step)
        return None

    def _take_target(self, pixels: np.ndarray) -> None:
        """The target version in force from this step on: the engine trains on it, the histories record it,
        the geometry helper measures against it."""
        self.engine.set_target(pixels)
        for history in self.histories:
            history.add_target(self.step, pixels)
        self.geometry.set_target(self.step, pixels)

    def _diverged(self, step: int, seed_index: int, loss: float) -> State:
        seed = self.config.seeds[seed_index]
        kept = self.histories[0].latest_step()
        who = f"seed {seed} " if len(self.config.seeds) > 1 else ""
        self.message = (f"training {who}diverged at step {step} (loss {loss}); stopped, the "
                        f"history up to step {kept} is kept; try a smaller --lr")
        return State.DIVERGED

    # ---- results -----------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        """One Run per seed with everything recorded so far (callable while training: one locked read
        of each history)."""
        cfg = self.config
        runs = []
        for seed, history in zip(cfg.seeds, self.histories):
            record = history.record(weights=True)
            meta = cfg.with_seed(seed).as_meta()
            if self.branch is not None:
                meta["parent"] = self.branch.meta()
            meta.update(image_source=self.target.source, image_sha256=self.target.sha256,
                        device=str(self.device), torch_version=torch.__version__, created=now_iso(),
                        ginn_gl_version=__version__, steps_done=int(record.steps[-1]),
                        state=self.state.value, message=self.message,
                        train_seconds=round(self.elapsed, 3), geometry=EXACT)
            assert record.weights is not None
            target_steps, targets = history.target_versions()
            runs.append(Run(meta=meta, steps=record.steps.copy(), weights=record.weights.copy(),
                            snap_loss=record.losses.copy(), loss_steps=record.loss_steps.copy(),
                            loss=record.loss.copy(), target=targets[0].copy(),
                            regions=record.regions.copy(), density=record.density.copy(),
                            status=record.status.copy(), targets=targets, target_steps=target_steps))
        return runs

    def finish(self, saving: Saving | None = None, *, guard: SignalGuard | None = None, wait: bool = True,
               report: Callable[[int], None] | None = None, final: bool = True) -> Finished:
        """End the run, all of it, in this order: stop the worker and wait for it; let the geometry helper
        measure what is left (after a whole run, while it makes progress, until a signal arrives; after a
        stop, at most GEOMETRY_WAIT_STOPPED s; not at all if `wait` is False: a run to discard);
        end the helper; save a run per seed to `saving`'s paths (a failed place falls back to the
        current or the temporary folder); then, if `final`, ignore later signals (the program only
        reports and exits). Signals meanwhile are counted, never raised (`guard`). `report(left)` hears
        the count of snapshots still being measured. Calling it again returns the same result."""
        if self._finished is not None:
            return self._finished
        with _shield(guard):
            signals = guard.count if guard is not None else 0
            self.stop()
            if not wait:
                timeout = 0.0
            elif self.state is State.FINISHED:
                timeout = GEOMETRY_WAIT_FINISHED
            else:
                timeout = GEOMETRY_WAIT_STOPPED
            self.geometry.wait(timeout, lambda: guard is not None and guard.count > signals, report)
            self.geometry.close()
            runs = self.runs()
            saved, problems = [], []
            for path, run in zip(saving.paths if saving else (), runs):
                landed, problem = save_with_fallback(path, run, saving.overwrite if saving else False)
                if landed is not None:
                    saved.append(landed)
                if problem is not None:
                    problems.append(problem)
        if guard is not None and final:
            guard.saved()
        unmeasured = sum(int((run.regions < 0).sum()) for run in runs)
        self._finished = Finished(runs, saved, problems, unmeasured, self.geometry.problem)
        return self._finished
