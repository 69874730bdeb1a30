"""The commands: each wires targets, trainer, run files, renderer and window for one use.

Heavy layers (torch, moderngl, glfw) are imported inside the commands that need them, so `info`
and `--help` start fast and `render` never loads torch.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from ginn_gl.cli.arguments import config_from_args, window_options
from ginn_gl.cli.progress import ProgressBar
from ginn_gl.cli.signals import Stop
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.lifecycle import STATUS_NAMES, neuron_report
from ginn_gl.core.outputs import check_output, fallback_paths, free_name
from ginn_gl.core.pace import pace_label, parse_pace
from ginn_gl.core.progress import State
from ginn_gl.core.runfile import load_run, load_side_by_side, printable, save_run
from ginn_gl.core.targets import Target, load_target
from ginn_gl.core.view import MAX_CELLS

PROG = "ginn-gl"


def prepare_process(training: bool = False, window: bool = False) -> None:
    """Process-wide settings, made once at start-up, before torch or the GL driver starts work."""
    if window and training:
        # Training takes all cores but one; a CPU rasteriser (Mesa llvmpipe) gets the one left.
        # (A replay trains nothing: llvmpipe keeps its default, every core.)
        os.environ.setdefault("LP_NUM_THREADS", "1")
    if training:
        import torch

        from ginn_gl.train.model import cpu_threads

        torch.set_num_threads(cpu_threads())


def image_label(spec: str) -> str:
    """A file-name-safe label for a target: the built-in name or the image file's stem."""
    stem = Path(spec).stem if ("/" in spec or "." in spec) else spec
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem) or "image"


def default_run_path(image: str, seed: int, folder: Path = Path("runs")) -> Path:
    """runs/<image>-seed<N>-<time>.npz, numbered if that exists (two runs in one second keep both)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return free_name(folder / f"{image_label(image)}-seed{seed}-{stamp}.npz")


def run_paths(out: str | None, image: str, seeds: tuple[int, ...], overwrite: bool, option: str) -> list[Path]:
    """Where each seed's run goes, checked now, before any training: a default name, a name in the
    folder `out` names, or `out` itself (PATH-seed<N>.npz for several seeds)."""
    if out is not None and (not out.strip() or Path(out).resolve() == Path(Path(out).resolve().anchor)):
        check_output(out, option)  # says the name is empty, or the root folder
    if out is None or Path(out).is_dir() or out.endswith(("/", os.sep)):
        folder = Path("runs") if out is None else Path(out)
        paths = [default_run_path(image, seed, folder) for seed in seeds]
    else:
        path = Path(out)
        stem = path.name[:-4] if path.name.endswith(".npz") else path.name
        paths = [path.with_name(f"{stem}.npz")] if len(seeds) == 1 else \
            [path.with_name(f"{stem}-seed{seed}.npz") for seed in seeds]
    return [check_output(path, option, overwrite) for path in paths]


def save_runs(paths: list[Path], runs: list, overwrite: bool, stop: Stop) -> tuple[list[Path], bool]:
    """Save each run, shielded from signals; a place that fails now (disk full, folder removed) sends
    the run to a fallback named in one line. Returns the paths written and whether any failed."""
    saved, failed = [], False
    with stop.shielded():
        for path, run in zip(paths, runs):
            try:
                saved.append(save_run(path, run, overwrite))
                continue
            except OSError as exc:
                reason = exc.strerror or exc.__class__.__name__
            failed = True
            for fallback in fallback_paths(path):
                try:
                    saved.append(save_run(fallback, run))
                except OSError:
                    continue
                print(f"{PROG}: error: could not write {printable(path)} ({reason}); the run is saved to "
                      f"{saved[-1]} instead", file=sys.stderr)
                break
            else:
                print(f"{PROG}: error: could not write {printable(path)} ({reason}), nor in the current or the "
                      "temporary folder; the run is lost", file=sys.stderr)
    return saved, failed


# ---- train ---------------------------------------------------------------------------------------

def wait_for_geometry(trainer, bar: ProgressBar) -> None:
    """After a whole run the helper may still be measuring the last snapshots (a short run records
    them faster than one core measures them): say so, with a count, rather than wait in silence."""
    from ginn_gl.train.trainer import GEOMETRY_WAIT_FINISHED

    deadline = time.perf_counter() + GEOMETRY_WAIT_FINISHED
    if trainer.state is not State.FINISHED or trainer.geometry.drain(0.3):
        return
    progress = trainer.progress()
    bar.update(progress.step, progress.step / trainer.elapsed if trainer.elapsed else 0.0,
               f"loss {progress.loss:.4f}", final=True)
    while trainer.geometry.pending and time.perf_counter() < deadline:
        bar.note(f"measuring regions and density: {trainer.geometry.pending:,} snapshots left "
                 "(Ctrl+C saves without them)")
        time.sleep(0.2)
    bar.note("", final=True)


def cmd_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    paths = run_paths(args.out, config.image, config.seeds, args.overwrite, "--out")
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True)
    from ginn_gl.train.trainer import Trainer

    trainer = Trainer(config, target)
    bar = ProgressBar(config.steps)
    stop = Stop()
    trainer.start()
    geometry_wait = None  # a whole run waits for the helper's last measurements; a skipped wait does not
    try:
        while trainer.alive:
            time.sleep(0.25)
            progress = trainer.progress()
            bar.update(progress.step, progress.steps_per_second, f"loss {progress.loss:.4f}")
        wait_for_geometry(trainer, bar)
    except KeyboardInterrupt:
        geometry_wait = 0.0 if trainer.state is State.FINISHED else None  # Ctrl+C, SIGTERM or SIGHUP: save now
    with stop.shielded():
        trainer.stop()
        progress = trainer.progress()
        if not bar.finished:  # the rate of the whole run, as the summary line gives it
            bar.update(progress.step, progress.step / trainer.elapsed if trainer.elapsed else 0.0,
                       f"loss {progress.loss:.4f}", final=True)
        runs = trainer.runs(geometry_timeout=geometry_wait)
    saved, failed = save_runs(paths, runs, args.overwrite, stop)
    stop.saved()
    trainer.geometry.finish()
    trainer.join()  # a worker exception is raised here, after what was recorded is saved
    for path, run in zip(saved, runs):
        rate = run.meta["steps_done"] / trainer.elapsed if trainer.elapsed else 0.0
        print(f"saved {path}: seed {run.meta['seed']}, {run.meta['steps_done']:,} steps in "
              f"{trainer.elapsed:.1f} s ({rate:,.0f} steps/s), {len(run)} snapshots, full-domain "
              f"loss {run.snap_loss[0]:.4f} -> {run.snap_loss[-1]:.4f}")
    if failed:
        return 2
    if trainer.state is State.DIVERGED:
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
        return 1
    if stop.received is not None:
        print(f"{PROG}: interrupted at step {trainer.step:,}; what was recorded is saved", file=sys.stderr)
        return stop.exit_status
    return 0


# ---- the window -----------------------------------------------------------------------------------

def training_session(config: TrainConfig, target: Target, pace: float | None = None):
    """A window session training `config`'s seeds together, each in a cell; restarting from a seed N
    trains as many fresh seeds from N on."""
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.grid import Session, Track

    trainer = Trainer(config, target, pace=pace)
    tracks = [Track(history, target.pixels, config.sizes, config.activation, seed, f"seed {seed}")
              for seed, history in zip(config.seeds, trainer.histories)]

    def restart(first: int) -> Session:
        seeds = tuple(range(first, first + len(config.seeds)))
        return training_session(replace(config, seeds=seeds), target, pace)

    return Session(tracks, device=f"training on {trainer.device}", trainer=trainer, restart=restart)


def cmd_live(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if len(config.seeds) > MAX_CELLS:
        raise UserError(f"--seeds {','.join(map(str, config.seeds))}: the window shows at most {MAX_CELLS} seeds side "
                        "by side; train more with `ginn-gl train --seeds`")
    window = window_options(args)
    pace = parse_pace(args.pace)
    save = [] if args.no_save else run_paths(args.save, config.image, config.seeds, args.overwrite, "--save")
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True, window=True)
    from ginn_gl.ui.app import App  # imports imgui and glfw: only for the window

    session = training_session(config, target, pace)
    stop = Stop()
    seeds = ",".join(map(str, config.seeds))
    app = App(session, title=f"ginn-gl: {image_label(config.image)}, seed{'s' if len(config.seeds) > 1 else ''} "
                             f"{seeds}", saves_on_close=bool(save), **window)
    try:
        session.trainer.start()  # once the window is open: no display means no training either
        where = "not saved" if not save else f"saved to {', '.join(map(str, save))}"
        print(f"training seed{'s' if len(config.seeds) > 1 else ''} {seeds} on {image_label(config.image)} "
              f"({session.device}, pace {pace_label(pace)}); close the window, press Esc or Q, or Ctrl+C here to "
              f"stop: the run{'s are' if len(save) > 1 else ' is'} {where}", flush=True)
        app.run()
    except KeyboardInterrupt:
        pass  # a signal between frames: close and save as Esc would
    finally:
        with stop.shielded():
            trainer = app.session.trainer
            app.close()  # stops the worker within a second and closes the window
            if save and trainer.state is State.FINISHED and not trainer.geometry.drain(0.3):
                print(f"measuring regions and density of the last {trainer.geometry.pending:,} snapshots "
                      "before saving", file=sys.stderr, flush=True)
            runs = trainer.runs(geometry_timeout=None if save else 0.0)  # unsaved: no reason to wait
    trained = tuple(int(run.meta["seed"]) for run in runs)
    if save and trained != tuple(config.seeds):  # restarted from another seed: names follow the seeds trained
        try:
            save = run_paths(args.save, config.image, trained, args.overwrite, "--save")
        except UserError:  # a name taken since: the next free one, never over a file
            save = [free_name(path) for path in run_paths(args.save, config.image, trained, True, "--save")]
    saved, failed = save_runs(save, runs, args.overwrite, stop)
    stop.saved()
    trainer.geometry.finish()
    trainer.join()  # a worker exception is raised here, after the runs are saved
    for path, run in zip(saved, runs):
        print(f"saved {path}: seed {run.meta['seed']}, {trainer.step:,} steps, {len(run)} snapshots")
    if trainer.state is State.DIVERGED:
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
    return 2 if failed else 0


def cmd_replay(args: argparse.Namespace) -> int:
    window = window_options(args)
    runs = load_side_by_side(args.runs, MAX_CELLS)
    prepare_process(window=True)
    from ginn_gl.ui.app import App
    from ginn_gl.ui.grid import replay_session

    session = replay_session(runs)
    names = ", ".join(printable(Path(path).name) for path in args.runs)
    app = App(session, title=f"ginn-gl replay: {names}", **window)
    print(f"replaying {names} ({', '.join(str(len(run)) for run in runs)} snapshots); close the window or press Esc "
          "or Q to quit", flush=True)
    try:
        app.run()
    finally:
        app.close()
    return 0


# ---- info, images --------------------------------------------------------------------------------

def run_summary(run) -> dict:
    measured = np.flatnonzero(run.regions >= 0)
    last = int(measured[-1]) if len(measured) else None
    return {
        "geometry": None if last is None else {
            "step": int(run.steps[last]), "regions": int(run.regions[last]),
            "density_near_edges": float(run.density[last, 0]), "density_elsewhere": float(run.density[last, 1])},
        "neurons": neuron_report(run.layers, run.steps, run.status),
        "path": str(run.path),
        "meta": run.meta,
        "snapshots": len(run),
        "first_step": int(run.steps[0]),
        "last_step": int(run.steps[-1]),
        "first_loss": float(run.snap_loss[0]),
        "last_loss": float(run.snap_loss[-1]),
        "minibatch_points": len(run.loss),
        "parameters": int(run.weights.shape[1]),
        "target_shape": list(run.target.shape),
    }


def cmd_info(args: argparse.Namespace) -> int:
    run = load_run(args.run)
    summary = run_summary(run)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    meta = run.meta
    layers = " -> ".join(str(n) for n in run.layers)
    batch = "full batch" if meta["batch_size"] == 0 else f"batch {meta['batch_size']}"
    print(printable(run.path))
    print(f"  network    {layers} ({summary['parameters']} parameters), {meta['activation']}, "
          f"{meta.get('head', 'sigmoid')} head, seed {meta['seed']}")
    print(f"  target     {printable(meta['image'])} at {run.target.shape[1]}x{run.target.shape[0]}, "
          f"{meta.get('threshold', 'mid')} threshold")
    state = f" ({printable(meta['state'])})" if isinstance(meta.get("state"), str) else ""  # stopped, diverged...
    print(f"  training   {meta['steps']:,} steps planned, {summary['last_step']:,} done{state}, Adam "
          f"lr {meta['lr']:g} ({printable(meta['schedule'])}), {batch}, on {printable(meta['device'])}")
    if meta.get("message"):
        print(f"  note       {printable(meta['message'])}")
    print(f"  snapshots  {len(run)} ({meta.get('snapshots', 'geometric')}) from step {summary['first_step']:,} "
          f"to {summary['last_step']:,}")
    print(f"  loss       full domain {summary['first_loss']:.4f} -> {summary['last_loss']:.4f}; "
          f"minibatch curve of {summary['minibatch_points']:,} points")
    geometry = summary["geometry"]
    if geometry is None:
        print("  geometry   not measured (a run file from before ginn-gl measured it)")
    else:
        counts = {name: sum(n["status"] == name for n in summary["neurons"]) for name in STATUS_NAMES}
        print(f"  geometry   at step {geometry['step']:,}: {geometry['regions']:,} linear regions; "
              f"{geometry['density_near_edges']:.2f} boundaries within 2 px near the target's edges, "
              f"{geometry['density_elsewhere']:.2f} elsewhere; {counts['switching']} neurons switching, "
              f"{counts['dead']} dead, {counts['always-on']} always on")
    print(f"  created    {printable(meta['created'])} with torch {printable(meta['torch_version'])}")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from ginn_gl.core.targets import DEFAULT_IMAGE, builtin_targets

    for name, description in builtin_targets().items():
        mark = " (default)" if name == DEFAULT_IMAGE else ""
        print(f"{name:10s} {description}{mark}")
    print("Any PNG/JPEG/BMP path works too: made grey, resized to --resolution, thresholded at "
          "mid-grey.")
    return 0
