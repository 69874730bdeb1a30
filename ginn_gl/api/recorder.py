"""`ginn_gl.Recorder`: a user's own torch model, trained by the user's own loop, recorded as a ginn-gl
run: snapshots on ginn-gl's schedule with their full-image loss, the minibatch loss curve, and the
geometry measured by the trainer's own helper process."""

from __future__ import annotations

import math
import operator
import os
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ginn_gl import __version__
from ginn_gl.api.options import OptionError, as_keywords, real, text, whole
from ginn_gl.api.run import Run
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.exact import EXACT
from ginn_gl.core.history import History
from ginn_gl.core.network import parameter_count
from ginn_gl.core.runfile import Run as RunRecord
from ginn_gl.core.runfile import now_iso
from ginn_gl.core.schedule import next_snapshot_step
from ginn_gl.core.selection import hidden_count
from ginn_gl.core.targets import DEFAULT_IMAGE, target_points

if TYPE_CHECKING:
    from pathlib import Path

LOSS_BATCH = 256  # minibatch losses held before they join the curve: one device sync per batch of them
GEOMETRY_WAIT = 60.0  # s the run waits at most for its last snapshots' geometry (while the helper works)
OPEN_ENDED = 1 << 62  # the planned length of a loop that did not say: the schedule never reaches it


class Recorder:
    """Records your own model as your own training loop trains it, into a run that every ginn-gl tool
    reads (`render`, `export`, `replay`, `info`).

    The model: a torch.nn.Sequential of nn.Linear layers with nn.ReLU or nn.LeakyReLU(0.01) between
    them, 2 inputs (x, y, y downwards: pixel (r, c) of an H x W target is at ((c + 0.5) / L,
    (r + 0.5) / L) with L = max(H, W), so a square target fills [0, 1]^2), and 1 output logit
    (p(white) = sigmoid) or 2 logits under a softmax (recorded as z1 - z0), with or without biases, on
    any device. Any other model raises ValueError naming the layer.

    The model as it is now is recorded as step 0. Call `record(step, loss)` after each optimiser step
    (step = the steps done: 1 after the first): it takes a snapshot when the step is on ginn-gl's
    snapshot schedule (every step to 50, then about 1% apart; the weights read without touching the
    model or its autograd graph, and the full-image loss against the target) and is a cheap no-op
    otherwise. `run()` and `save(path)` end with the weights of the last step recorded (read then).
    Regions, density and neuron status are measured by the trainer's geometry helper process on idle
    time (geometry=False leaves them unmeasured, -1).

    image, resolution, threshold: the target, as `ginn-gl train` takes it. steps: the loop's planned
    length (only for the file; needed by snapshots="ginn"). seed, lr, batch_size, schedule: for the
    file only, where they describe your loop (left out, the file holds placeholders and says so).
    progress=False: no line on stderr while run() waits for the last snapshots' geometry.
    """

    def __init__(self, model: Any, image: str | os.PathLike = DEFAULT_IMAGE, *, resolution: int = 200,
                 threshold: str = "mid", snapshots: str = "geometric", steps: int | None = None, geometry: bool = True,
                 history_mb: float = 64.0, seed: int | None = None, lr: float | None = None,
                 batch_size: int | None = None, schedule: str | None = None, progress: bool = True):
        import torch

        from ginn_gl.api.model import ImageLoss, ModelReader
        from ginn_gl.core.sources import load_target
        from ginn_gl.train.geometry_helper import GeometryHelper

        self._reader = ModelReader(model)
        given = {"seed": seed, "lr": lr, "batch_size": batch_size, "schedule": schedule}
        self._unknown = [name for name, value in given.items() if value is None]
        if snapshots == "ginn" and steps is None:
            raise OptionError("snapshots='ginn' needs steps=, the loop's planned length (its schedule ends there)")
        with as_keywords():
            self._config = TrainConfig(
                layers=tuple(self._reader.sizes[1:-1]), activation=self._reader.activation, head=self._reader.head,
                seeds=(0 if seed is None else whole("seed", seed),), image=text("image", image, path=True),
                resolution=whole("resolution", resolution), threshold=text("threshold", threshold),
                snapshots=text("snapshots", snapshots), steps=1 if steps is None else whole("steps", steps),
                history_mb=real("history_mb", history_mb), lr=1e-3 if lr is None else real("lr", lr),
                batch_size=0 if batch_size is None else whole("batch_size", batch_size),
                schedule="constant" if schedule is None else text("schedule", schedule), device="cpu")
        with as_keywords("image"):
            self._target = load_target(self._config.image, self._config.resolution, self._config.threshold)
        self._planned = steps
        self._progress = progress  # False: no line on stderr while the last geometry is measured
        sizes = self._config.sizes
        self._history = History(parameter_count(sizes), int(self._config.history_mb * 2**20),
                                n_hidden=hidden_count(sizes))
        self._history.add_target(0, self._target.pixels)  # one version, in force from the first step
        self._image_loss = ImageLoss(self._target.pixels, sizes, self._reader.activation)
        self._tensor = torch.Tensor
        self._losses: list[tuple[int, Any]] = []  # (step, loss) not in the curve yet
        self._step = 0  # the last step recorded
        self._snapshot_step = -1
        self._next = 0  # the next step on the schedule
        self._closed = False
        self._state, self._message = "finished", ""
        self._started = self._last_time = time.perf_counter()
        self._geometry = GeometryHelper(self._target.pixels, sizes, self._reader.activation, [self._history],
                                        enabled=bool(geometry))
        self._snapshot(0)  # the model as it is now: the initial network

    # ---- the loop's calls ------------------------------------------------------------------------------

    def record(self, step: int, loss: Any = None) -> bool:
        """Record optimiser step `step` (the steps done so far, increasing), with the minibatch `loss`
        (a number or a scalar tensor, optional: it stands for the steps since the last loss given).
        Takes a snapshot when `step` is on the schedule, and returns True then; else a cheap no-op."""
        if self._closed:
            raise RuntimeError("this Recorder is closed; make a new one to record more")
        step = operator.index(step)
        if step <= self._step:
            if step < self._step:
                raise ValueError(f"step {step:,} is before step {self._step:,}, recorded already; steps count the "
                                 "optimiser steps done, so they increase")
            return False  # the same step again (or step 0, recorded when the Recorder was made)
        if loss is not None:
            self._losses.append((step, loss.detach() if isinstance(loss, self._tensor) else loss))
        self._step = step
        if step < self._next:
            if len(self._losses) >= LOSS_BATCH:
                self._flush_losses()
            return False
        self._snapshot(step)
        return True

    def run(self) -> Run:
        """Everything recorded, as a Run; it ends with the model's weights at the last step recorded (read
        now). Waits (up to a minute, while the helper works) for the geometry of the last snapshots."""
        self._finish()
        return Run(self._run_record())

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the run file (what run() returns); an existing file is replaced only with overwrite=True."""
        return self.run().save(path, overwrite=overwrite)

    def close(self) -> None:
        """End the recording: the last step's snapshot, the last geometry, and the helper process."""
        if self._closed:
            return
        self._finish()
        self._geometry.close()
        self._closed = True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def step(self) -> int:
        """The last step recorded."""
        return self._step

    @property
    def target(self) -> np.ndarray:
        """The target the full-image loss is measured against: uint8 (H, W) of 0 (black) and 1 (white)."""
        view = self._target.pixels.view()
        view.flags.writeable = False
        return view

    @property
    def points(self) -> np.ndarray:
        """float64 (H * W, 2): every pixel centre (x, y) of the target, row by row (target.ravel()'s order):
        the inputs ginn-gl trains on."""
        return target_points(self._target.pixels.shape)

    @property
    def snapshots(self) -> int:
        """Snapshots held now (older ones are thinned, as the trainer's, when history_mb is reached)."""
        return len(self._history)

    # ---- inside --------------------------------------------------------------------------------------

    def _snapshot(self, step: int) -> None:
        self._flush_losses()
        if self._state == "diverged":
            return
        flat = self._reader.flat()
        loss = float(self._image_loss(flat))
        weights = flat.cpu().numpy()
        if not (math.isfinite(loss) and np.isfinite(weights).all()):
            self._diverge(step, f"full-image loss {loss}" if not math.isfinite(loss) else "weights not finite")
            return
        self._history.push(step, weights, loss)
        self._geometry.submit(step)
        self._snapshot_step = step
        after = next_snapshot_step(step, OPEN_ENDED if self._planned is None else self._planned,
                                   self._config.snapshots)
        # Past the planned end: geometric spacing, as an open-ended run's.
        self._next = after if after > step else next_snapshot_step(step, OPEN_ENDED, "geometric")
        self._last_time = time.perf_counter()

    def _finish(self) -> None:
        """The last step recorded becomes a snapshot (the run ends where the loop did); its geometry is waited for."""
        if not self._closed:
            if self._step > self._snapshot_step:
                self._snapshot(self._step)
            self._flush_losses()
            self._wait_for_geometry()

    def _wait_for_geometry(self) -> None:
        """Wait for the last snapshots' geometry; after half a second, a line on stderr counts them down."""
        from ginn_gl.api.progress import progress_bar

        started, notes = time.perf_counter(), None

        def report(left: int) -> None:
            nonlocal notes
            if notes is None and time.perf_counter() - started > 0.5:
                notes = progress_bar(1, enabled=self._progress)
            if notes is not None:
                notes.note(f"ginn_gl: measuring regions and density: {left:,} snapshot{'' if left == 1 else 's'} left")

        self._geometry.wait(GEOMETRY_WAIT, report=report)
        if notes is not None:
            notes.note("", final=True)

    def _flush_losses(self) -> None:
        pending, self._losses = self._losses, []
        if not pending or self._state == "diverged":
            return
        steps = np.array([step for step, _ in pending], dtype=np.int64)
        values = self._loss_values([value for _, value in pending])
        bad = ~np.isfinite(values)
        if bad.any():
            k = int(np.argmax(bad))
            self._diverge(int(steps[k]), f"minibatch loss {values[k]}")
            steps, values = steps[:k], values[:k]
        gaps = np.diff(np.concatenate([[self._history.losses.last_step], steps]))
        self._history.losses.push(np.repeat(values, gaps))  # a loss stands for the steps since the last one given
        self._last_time = time.perf_counter()

    def _loss_values(self, values: list[Any]) -> np.ndarray:
        """float64 losses; tensors on one device are read in one transfer."""
        import torch

        tensors = [value for value in values if isinstance(value, torch.Tensor)]
        try:
            if tensors and len(tensors) == len(values) and len({t.device for t in tensors}) == 1:
                return torch.stack([t.reshape(()) for t in tensors]).double().cpu().numpy()
            return np.array([float(value) for value in values], dtype=np.float64)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(f"a loss given to record() is not a number or a one-element tensor ({exc})") from None

    def _diverge(self, step: int, why: str) -> None:
        self._state = "diverged"
        kept = self._history.latest_step()
        self._message = f"diverged at step {step:,} ({why}); the history up to step {kept:,} is kept"
        self._next = sys.maxsize
        warnings.warn(f"ginn_gl.Recorder: the model {self._message}; nothing later is recorded", RuntimeWarning,
                      stacklevel=3)

    def _run_record(self) -> RunRecord:
        import torch

        record = self._history.record(weights=True)
        assert record.weights is not None
        meta = self._config.as_meta()
        done = int(record.steps[-1])
        note = "recorded by ginn_gl.Recorder from the user's own training loop"
        if self._unknown:
            note += f"; not given: {', '.join(self._unknown)} (the values here are placeholders)"
        meta.update(steps=max(self._planned or 0, done, 1), image_source=self._target.source,
                    image_sha256=self._target.sha256, device=str(self._reader.device), torch_version=torch.__version__,
                    created=now_iso(), ginn_gl_version=__version__, steps_done=done, state=self._state,
                    message="; ".join(filter(None, [self._message, note])),
                    train_seconds=round(self._last_time - self._started, 3), recorder=True, geometry=EXACT)
        return RunRecord(meta=meta, steps=record.steps.copy(), weights=record.weights.copy(),
                         snap_loss=record.losses.copy(), loss_steps=record.loss_steps.copy(), loss=record.loss.copy(),
                         target=self._target.pixels.copy(), regions=record.regions.copy(),
                         density=record.density.copy(), status=record.status.copy())
