"""`ginn_gl.train`: `ginn-gl train` as a function. The same options (as keywords), the same checks,
the same Trainer and its Trainer.finish, so the same run: on the CPU the same bytes."""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ginn_gl.api.options import as_keywords, training_config
from ginn_gl.api.progress import progress_bar
from ginn_gl.api.run import Run
from ginn_gl.core.progress import Saving, State
from ginn_gl.core.targets import DEFAULT_IMAGE

POLL_SECONDS = 0.1  # how often the bar is redrawn while the worker trains


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Train with the thread count `ginn-gl train` uses (its results depend on it), then restore the caller's."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(image: str | os.PathLike = DEFAULT_IMAGE, *, seed: int = 0, steps: int | None = None,
          layers: Sequence[int] | str = (16, 16, 16), activation: str = "relu", head: str | None = None,
          threshold: str | None = None, resolution: int = 200, batch_size: int | None = None, lr: float | None = None,
          schedule: str | None = None, snapshots: str | None = None, device: str = "auto", history_mb: float = 64.0,
          ginn: bool = False, out: str | os.PathLike | None = None, overwrite: bool = False,
          progress: bool = True) -> Run:
    """Train a network on a picture, as `ginn-gl train` does, and return its run.

    The keywords are `ginn-gl train`'s options, spelled with underscores: image (a built-in name such as
    "bottle", "circle", "spiral", or a PNG/JPEG/BMP path), seed, steps (default 200,000), layers
    (hidden widths, e.g. (16, 16, 16)), activation ("relu", "leaky_relu"), head ("softmax2", "sigmoid"),
    threshold ("mid", "white"), resolution, batch_size (0: full batch), lr, schedule ("cosine",
    "constant"), snapshots ("geometric", "ginn"), device ("auto", "cpu", "cuda"), history_mb; ginn=True
    sets the original GINN's setup, as --ginn does (keywords given too win). Those left None take
    their default, or --ginn's value. A bad value raises ValueError naming the keyword.

    out: also write the run file there (a folder: a default name inside it); an existing file is
    replaced only with overwrite=True. progress=False silences the bar on stderr.

    On the CPU the run is the same, byte for byte, as `ginn-gl train` with the same options. A run that
    diverges stops, warns and returns what was recorded; Ctrl+C stops training, saves what was
    recorded (when out is given) and raises KeyboardInterrupt.
    """
    config = training_config(image, seed, layers, activation, resolution, device, history_mb, ginn,
                             {"steps": steps, "head": head, "threshold": threshold, "batch_size": batch_size,
                              "lr": lr, "schedule": schedule, "snapshots": snapshots})
    from ginn_gl.cli.commands import run_paths
    from ginn_gl.core.sources import load_target

    with as_keywords("out"):
        paths = [] if out is None else run_paths(os.fspath(out), config.image, config.seeds, overwrite, "out")
    with as_keywords("image"):
        target = load_target(config.image, config.resolution, config.threshold)
    from ginn_gl.train.model import cpu_threads
    from ginn_gl.train.trainer import Trainer

    with torch_threads(cpu_threads()):
        with as_keywords():
            trainer = Trainer(config, target)
        bar = progress_bar(config.steps, enabled=progress)
        interrupted = False
        trainer.start()
        try:
            while trainer.alive:
                time.sleep(POLL_SECONDS)
                if bar is not None:
                    state = trainer.progress()
                    bar.update(state.step, state.steps_per_second, f"minibatch loss {state.loss:.4f}")
        except KeyboardInterrupt:
            interrupted = True  # finish() below stops the worker and saves what was recorded

        def end_bar() -> None:
            """The bar's last line, at the whole run's rate (as `ginn-gl train` ends it)."""
            if bar is not None and not bar.finished:
                state = trainer.progress()
                bar.update(state.step, state.step / trainer.elapsed if trainer.elapsed else 0.0,
                           f"minibatch loss {state.loss:.4f}", final=True)

        def measuring(left: int) -> None:
            end_bar()
            if bar is not None:
                bar.note(f"measuring regions and density: {left:,} snapshot{'' if left == 1 else 's'} left")

        finished = trainer.finish(Saving(tuple(paths), overwrite) if paths else None, report=measuring)
    if bar is not None and bar.finished:
        bar.note("", final=True)
    end_bar()
    for problem in finished.problems:  # saved elsewhere (named), or lost: the run is still returned
        warnings.warn(problem, RuntimeWarning, stacklevel=2)
    if finished.unmeasured and finished.geometry_problem:
        warnings.warn(f"{finished.geometry_problem}: {finished.unmeasured:,} snapshots have no geometry (regions, "
                      "density, status: -1)", RuntimeWarning, stacklevel=2)
    trainer.join()  # a worker's exception is raised here, after what was recorded is saved
    record = finished.runs[0]
    if finished.saved:
        record.path = finished.saved[0]
    if interrupted:
        print(f"ginn_gl.train: interrupted at step {trainer.step:,}"
              + (f"; what was recorded is saved to {finished.saved[0]}" if finished.saved else ""), file=sys.stderr)
        raise KeyboardInterrupt
    if trainer.state is State.DIVERGED:
        warnings.warn(trainer.message, RuntimeWarning, stacklevel=2)
    return Run(record)
