"""The training worker: a thread that runs the step engine and records into the histories.

It never waits for a reader; readers (the window, the saver) take what they need from the
histories at any time. Stop is honoured between steps, pause and resume between blocks, so a stop
request ends the thread within a step (well under 100 ms).
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import torch

from ginn_gl import __version__
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.history import History
from ginn_gl.core.network import parameter_count
from ginn_gl.core.pace import Pacer
from ginn_gl.core.progress import Progress, State
from ginn_gl.core.runfile import Run, now_iso
from ginn_gl.core.schedule import learning_rates, next_snapshot_step
from ginn_gl.core.targets import Target
from ginn_gl.train.engine import EngineSpec, StepEngine
from ginn_gl.train.geometry import GeometryWorker

GEOMETRY_WAIT_FINISHED = 30.0  # s the run file waits for the last snapshots' geometry after a whole run
GEOMETRY_WAIT_STOPPED = 1.0  # ... and after a stop, when someone waits for the program to end


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


class Trainer:
    """Trains `config.seeds` networks on `target` in a worker thread.

    Only the worker writes the trainer's state; other threads ask through events (pause, resume,
    stop), which the worker honours between blocks.
    """

    def __init__(self, config: TrainConfig, target: Target, block: int = 256, pace: float | None = None,
                 measure_geometry: bool = True):
        self.config = config
        self.target = target
        self.device = resolve_device(config.device)
        spec = EngineSpec(config.sizes, config.activation, list(config.seeds), config.batch_size,
                          block=block, head=config.head)
        self.engine = StepEngine(spec, target.pixels, self.device)
        n_params, n_hidden = parameter_count(config.sizes), sum(config.layers)
        try:
            self.histories = [History(n_params, int(config.history_mb * 2**20), n_hidden=n_hidden)
                              for _ in config.seeds]
        except ValueError as exc:
            raise UserError(f"--history-mb {config.history_mb:g} is too small: {exc}") from None
        self.step = 0
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
        self.geometry = GeometryWorker(target.pixels, config.sizes, config.activation, self.device, self.histories,
                                       enabled=measure_geometry)
        self._record_snapshot()  # the initial network, so readers have something at once

    # ---- control (any thread) -------------------------------------------------------------

    def start(self) -> Trainer:
        if self._thread is not None:
            raise RuntimeError("a Trainer starts once; make a new one to train again")
        self._thread = threading.Thread(target=self._run, name="ginn-gl-trainer", daemon=True)
        self._thread.start()
        return self

    def set_pace(self, pace: float | None) -> None:
        """Snapshots per second to train at (None: as fast as the hardware goes); from any thread."""
        self.pacer.pace = pace

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the worker to stop and wait up to `timeout` s; True when it has ended. It checks between
        steps, so it ends in milliseconds; the margin is for a loaded machine, where a run file saved
        before the worker ended would say it was still running."""
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

    def progress(self) -> Progress:
        pacer = self.pacer
        return Progress(self.step, self.config.steps, self.steps_per_second, self.step_ms, self.last_loss,
                        self.state, pacer.pace, pacer.rate, pacer.keeping_pace)

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
            self.geometry.close()

    def _train(self) -> State:
        """The training loop; returns the state it ends in."""
        cfg, engine = self.config, self.engine
        total = cfg.steps
        while self.step < total and not self._stop.is_set():
            if self._pause.is_set():
                self.state = State.PAUSED
                self._stop.wait(0.02)
                continue
            self.state = State.RUNNING
            # The next snapshot follows the last one recorded, however many blocks reach it.
            target_step = next_snapshot_step(self.histories[0].latest_step(), total, cfg.snapshots)
            count = min(target_step - self.step, engine.block)
            first = self.step
            t0 = time.perf_counter()
            engine.prepare_block(first, count,
                                 learning_rates(cfg.lr, cfg.schedule, first, count, total))
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
            if self.step == target_step:
                waited = self._wait_for_pace()
                if diverged := self._record_snapshot():
                    return diverged
                self.pacer.recorded(time.perf_counter(), waited)
        if self.step < total and (diverged := self._record_snapshot()):  # stopped: keep what was done
            return diverged
        return State.FINISHED if self.step >= total else State.STOPPED

    def _wait_for_pace(self) -> bool:
        """Sleep until the pace lets the next snapshot be recorded; True if it had to wait.

        Sleeps in slices, so a stop request (or a change of pace) takes effect within 50 ms."""
        waited = False
        while not self._stop.is_set():
            delay = self.pacer.delay(time.perf_counter())
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

    def _record_snapshot(self) -> State | None:
        """Push the current parameters of every seed; if they diverged, push nothing and return
        State.DIVERGED."""
        if self.histories[0].latest_step() >= self.step:
            return None
        weights = self.engine.parameters()
        losses = self.engine.domain_loss()
        bad = ~np.isfinite(losses) | ~np.isfinite(weights).all(axis=1)
        if bad.any():
            seed = int(np.argmax(bad))
            return self._diverged(self.step, seed, float(losses[seed]))
        for s, history in enumerate(self.histories):
            history.push(self.step, weights[s], float(losses[s]))
        self.geometry.submit(self.step, weights)
        return None

    def _diverged(self, step: int, seed_index: int, loss: float) -> State:
        seed = self.config.seeds[seed_index]
        kept = self.histories[0].latest_step()
        who = f"seed {seed} " if len(self.config.seeds) > 1 else ""
        self.message = (f"training {who}diverged at step {step} (loss {loss}); stopped, the "
                        f"history up to step {kept} is kept; try a smaller --lr")
        return State.DIVERGED

    # ---- results -----------------------------------------------------------------------------

    def runs(self, geometry_timeout: float | None = None) -> list[Run]:
        """One Run per seed with everything recorded so far (callable while training); once training
        has ended, waits up to `geometry_timeout` s for the last snapshots' geometry (by default 30 s
        after a run that finished, 1 s after a stop: someone pressed Ctrl+C or closed the window and
        waits; what is not measured by then stays unknown in the run file)."""
        cfg = self.config
        if self.done:
            if geometry_timeout is None:
                geometry_timeout = GEOMETRY_WAIT_FINISHED if self.state is State.FINISHED else GEOMETRY_WAIT_STOPPED
            self.geometry.drain(geometry_timeout)
        runs = []
        for seed, history in zip(cfg.seeds, self.histories):
            steps, weights, snap_loss = history.arrays()
            geometry_steps, regions, density, status = history.geometry()
            loss_steps, loss = history.losses.arrays()
            meta = cfg.with_seed(seed).as_meta()
            meta.update(device=str(self.device), torch_version=torch.__version__, created=now_iso(),
                        ginn_gl_version=__version__, steps_done=int(steps[-1]),
                        state=self.state.value, message=self.message,
                        train_seconds=round(self.elapsed, 3))
            if not np.array_equal(geometry_steps, steps):  # thinned between the two reads: read both again
                return self.runs(geometry_timeout=0.0)
            runs.append(Run(meta=meta, steps=steps, weights=weights, snap_loss=snap_loss,
                            loss_steps=loss_steps, loss=loss, target=self.target.pixels.copy(),
                            regions=regions, density=density, status=status))
        return runs
