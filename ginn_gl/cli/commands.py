"""The commands: each wires targets, trainer, run files, renderer and window for one use.

Heavy layers (torch, moderngl, glfw) are imported inside the commands that need them, so `info`
and `--help` start fast and `render` never loads torch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ginn_gl.cli.arguments import config_from_args, window_options
from ginn_gl.cli.progress import ProgressBar
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.exact import EXACT, geometry_kind
from ginn_gl.core.exact import describe as describe_geometry
from ginn_gl.core.exact import summary as exact_summary
from ginn_gl.core.lifecycle import NeuronStatus, neuron_report
from ginn_gl.core.outputs import absolute, check_output, free_name, write_atomically
from ginn_gl.core.pace import pace_label, parse_pace
from ginn_gl.core.progress import Finished, Saving, State
from ginn_gl.core.runfile import load_run, load_side_by_side, printable
from ginn_gl.core.signals import SignalGuard
from ginn_gl.core.targets import Target, load_target
from ginn_gl.core.view import MAX_CELLS

if TYPE_CHECKING:
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.grid import Session

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
    folder `out` names, or `out` itself (PATH-seed<N>.npz for several seeds); never the image read."""
    if out is not None and (not out.strip() or Path(out).resolve() == Path(Path(out).resolve().anchor)
                            or (Path(out).exists() and not Path(out).is_file() and not Path(out).is_dir())):
        check_output(out, option)  # says the name is empty, the root folder, or a device or a pipe
    if out is None or Path(out).is_dir() or out.endswith(("/", os.sep)):
        folder = Path("runs") if out is None else Path(out)
        paths = [default_run_path(image, seed, folder) for seed in seeds]
    else:
        path = Path(out)
        stem = path.name[:-4] if path.name.endswith(".npz") else path.name
        paths = [path.with_name(f"{stem}.npz")] if len(seeds) == 1 else \
            [path.with_name(f"{stem}-seed{seed}.npz") for seed in seeds]
    return [check_output(path, option, overwrite, inputs=[image]) for path in paths]


def report_finished(finished: Finished) -> None:
    """The lines a finished run leaves on stderr: where runs went instead, what was not measured."""
    for problem in finished.problems:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
    if finished.unmeasured and finished.geometry_problem:
        print(f"{PROG}: {finished.geometry_problem}: {finished.unmeasured:,} snapshots are saved without their "
              "geometry", file=sys.stderr)


# ---- train ---------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    paths = run_paths(args.out, config.image, config.seeds, args.overwrite, "--out")
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True)
    from ginn_gl.train.trainer import Trainer

    trainer = Trainer(config, target)
    bar = ProgressBar(config.steps)
    guard = SignalGuard()
    trainer.start()
    try:
        while trainer.alive:
            time.sleep(0.25)
            progress = trainer.progress()
            bar.update(progress.step, progress.steps_per_second, f"loss {progress.loss:.4f}")
    except KeyboardInterrupt:
        pass  # Ctrl+C, SIGTERM or SIGHUP: finish() stops the worker and saves what was recorded

    def measuring(left: int) -> None:
        """A short run records snapshots faster than one core measures them: say so, with a count."""
        if not bar.finished:
            end_bar(bar, trainer)
        bar.note(f"measuring regions and density: {left:,} snapshots left (Ctrl+C saves without them)")

    finished = trainer.finish(Saving(tuple(paths), args.overwrite), guard=guard, report=measuring)
    if bar.finished:
        bar.note("", final=True)
    else:
        end_bar(bar, trainer)
    report_finished(finished)
    for path, run in zip(finished.saved, finished.runs):
        rate = run.meta["steps_done"] / trainer.elapsed if trainer.elapsed else 0.0
        print(f"saved {path}: seed {run.meta['seed']}, {run.meta['steps_done']:,} steps in "
              f"{trainer.elapsed:.1f} s ({rate:,.0f} steps/s), {len(run)} snapshots, full-domain "
              f"loss {run.snap_loss[0]:.4f} -> {run.snap_loss[-1]:.4f}")
    trainer.join()  # a worker exception is raised here, after what was recorded is saved
    if finished.failed:
        return 2
    if trainer.state is State.DIVERGED:
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
        return 1
    if guard.received is not None:
        print(f"{PROG}: interrupted at step {trainer.step:,}; what was recorded is saved", file=sys.stderr)
        return guard.exit_status
    return 0


def end_bar(bar: ProgressBar, trainer: Trainer) -> None:
    """The bar's last line, at the whole run's rate (as the summary line gives it)."""
    progress = trainer.progress()
    bar.update(progress.step, progress.step / trainer.elapsed if trainer.elapsed else 0.0,
               f"loss {progress.loss:.4f}", final=True)


# ---- the window -----------------------------------------------------------------------------------

def training_session(config: TrainConfig, target: Target, pace: float | None = None) -> Session:
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
    if window["frame_log"] is not None and absolute(window["frame_log"]) in {absolute(path) for path in save}:
        raise UserError(f"--frame-log {printable(args.frame_log)} is also where the run is saved; give another name")
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True, window=True)
    from ginn_gl.ui.app import App  # imports imgui and glfw: only for the window

    session = training_session(config, target, pace)
    assert session.trainer is not None
    guard = SignalGuard()
    seeds = ",".join(map(str, config.seeds))
    try:
        app = App(session, title=f"ginn-gl: {image_label(config.image)}, seed{'s' if len(config.seeds) > 1 else ''} "
                                 f"{seeds}", saves_on_close=bool(save), **window)
    except BaseException:
        session.trainer.finish(None, wait=False)  # nothing trained: its geometry helper ends with it
        raise
    failure: str | None = None  # the window's own error, if it failed: reported after the save
    try:
        session.trainer.start()  # once the window is open: no display means no training either
        where = "not saved" if not save else f"saved to {', '.join(map(str, save))}"
        print(f"training seed{'s' if len(config.seeds) > 1 else ''} {seeds} on {image_label(config.image)} "
              f"({session.device}, pace {pace_label(pace)}); close the window, press Esc or Q, or Ctrl+C here to "
              f"stop: the run{'s are' if len(save) > 1 else ' is'} {where}", flush=True)
        app.run()
    except KeyboardInterrupt:
        pass  # a signal between frames: close and save as Esc would
    except Exception:  # noqa: BLE001 - every way out of the window saves the run first
        failure = traceback.format_exc()
    finally:
        with guard.shielded():
            try:
                app.close()  # the window goes at once; finish() below stops the worker
            except Exception:  # noqa: BLE001 - a window that failed may fail to close too: the run comes first
                failure = failure or traceback.format_exc()
    trainer = app.session.trainer  # a restart in the window made another one
    assert trainer is not None
    trained = tuple(trainer.config.seeds)
    if save and trained != tuple(config.seeds):  # restarted from another seed: names follow the seeds trained
        try:
            save = run_paths(args.save, config.image, trained, args.overwrite, "--save")
        except UserError:  # a name taken since: the next free one, never over a file
            save = [free_name(path) for path in run_paths(args.save, config.image, trained, True, "--save")]

    notes = ProgressBar(1)  # its note(): a line rewritten in place on a terminal, written once elsewhere

    def measuring(left: int) -> None:
        notes.note(f"measuring regions and density of the last {left:,} snapshots before saving (Ctrl+C saves "
                   "without them)")

    finished = trainer.finish(Saving(tuple(save), args.overwrite) if save else None, guard=guard, wait=bool(save),
                              report=measuring)
    notes.note("", final=True)
    report_finished(finished)
    for path, run in zip(finished.saved, finished.runs):
        print(f"saved {path}: seed {run.meta['seed']}, {trainer.step:,} steps, {len(run)} snapshots")
    if failure is not None:
        log = crash_log(failure, Path(save[0]).parent if save else None)
        saved = f"the run is saved ({', '.join(map(str, finished.saved))})" if finished.saved else \
            "nothing was to be saved (--no-save)"
        print(f"{PROG}: error: the window failed ({failure.strip().splitlines()[-1][:200]}); {saved}; the traceback is "
              f"in {log}", file=sys.stderr)
        return 1
    trainer.join()  # a worker exception is raised here, after the runs are saved
    if trainer.state is State.DIVERGED:
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
    if finished.failed:
        return 2
    return guard.exit_status if guard.received is not None else 0


def crash_log(trace: str, folder: Path | None) -> Path | str:
    """Write a traceback to a new file beside the runs (or in the temporary folder); returns where."""
    def write(tmp: Path) -> None:
        tmp.write_text(trace, encoding="utf-8")

    for place in ([folder] if folder is not None else []) + [Path(tempfile.gettempdir())]:
        path = free_name(place / f"ginn-gl-error-{datetime.now().strftime('%Y%m%d-%H%M%S')}.log")
        try:
            return write_atomically(path, write)
        except OSError:
            continue
    return "nowhere (no writable folder); here it is:\n" + trace


def cmd_replay(args: argparse.Namespace) -> int:
    window = window_options(args, inputs=args.runs)
    runs = load_side_by_side(args.runs, MAX_CELLS)
    prepare_process(window=True)
    from ginn_gl.ui.app import App
    from ginn_gl.ui.grid import replay_session

    session = replay_session(runs)
    names = ", ".join(printable(Path(path).name) for path in args.runs)
    app = App(session, title=f"ginn-gl replay: {names}", **window)
    guard = SignalGuard()
    print(f"replaying {names} ({', '.join(str(len(run)) for run in runs)} snapshots); close the window or press Esc "
          "or Q to quit", flush=True)
    try:
        app.run()
    except KeyboardInterrupt:
        pass
    finally:
        with guard.shielded():
            app.close()
    guard.saved()
    return guard.exit_status if guard.received is not None else 0


# ---- info, images --------------------------------------------------------------------------------

def run_summary(run) -> dict:
    measured = np.flatnonzero(run.regions >= 0)
    last = int(measured[-1]) if len(measured) else None
    return {
        "geometry": None if last is None else {
            "step": int(run.steps[last]), "regions": int(run.regions[last]),
            "density_near_edges": float(run.density[last, 0]), "density_elsewhere": float(run.density[last, 1]),
            "kind": geometry_kind(run.meta)},
        "exact": {"step": int(run.steps[-1]), **exact_summary(run.weights[-1], run.layers, run.activation, run.target)},
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


def strict_json(value: object) -> object:
    """`value` with every NaN or infinity as null: strict JSON, as any parser reads it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    return value


def cmd_info(args: argparse.Namespace) -> int:
    run = load_run(args.run)
    summary = run_summary(run)
    if args.json:
        print(json.dumps(strict_json(summary), indent=2, allow_nan=False))
        return 0
    meta = run.meta
    layers = " -> ".join(str(n) for n in run.layers)
    batch = "full batch" if meta["batch_size"] == 0 else f"batch {meta['batch_size']}"
    print(printable(run.path))
    print(f"  network    {layers} ({summary['parameters']} parameters), {meta['activation']}, "
          f"{meta.get('head', 'sigmoid')} head, seed {meta['seed']}")
    print(f"  target     {printable(meta['image'])} at {run.target.shape[1]}x{run.target.shape[0]}, "
          f"{printable(meta.get('threshold', 'mid'))} threshold")
    if "image_source" in meta:  # where it was read, and what it was: a relative name means little elsewhere
        print(f"  image      {printable(meta['image_source'])}, sha256 {printable(meta.get('image_sha256', '?'))}")
    state = f" ({printable(meta['state'])})" if isinstance(meta.get("state"), str) else ""  # stopped, diverged...
    print(f"  training   {meta['steps']:,} steps planned, {summary['last_step']:,} done{state}, Adam "
          f"lr {meta['lr']:g} ({printable(meta['schedule'])}), {batch}, on {printable(meta['device'])}")
    if meta.get("message"):
        print(f"  note       {printable(meta['message'])}")
    print(f"  snapshots  {len(run)} ({printable(meta.get('snapshots', 'geometric'))}) from step "
          f"{summary['first_step']:,} to {summary['last_step']:,}")
    print(f"  loss       full domain {summary['first_loss']:.4f} -> {summary['last_loss']:.4f}; "
          f"minibatch curve of {summary['minibatch_points']:,} points")
    geometry = summary["geometry"]
    if geometry is None:
        print("  geometry   not measured (a run file from before ginn-gl measured it)")
    else:
        neurons: list[dict[str, object]] = summary["neurons"]
        counts = {kind: sum(n["status"] == kind.label for n in neurons) for kind in NeuronStatus}
        stored = describe_geometry(geometry["kind"], geometry["regions"],
                                   (geometry["density_near_edges"], geometry["density_elsewhere"]))
        print(f"  geometry   at step {geometry['step']:,}: {stored}; {counts[NeuronStatus.SWITCHING]} neurons "
              f"switching, {counts[NeuronStatus.DEAD]} dead, {counts[NeuronStatus.ALWAYS_ON]} always on")
    if geometry is None or geometry["kind"] != EXACT:  # an older file: the exact geometry of its last snapshot
        exact = summary["exact"]
        now = describe_geometry(EXACT, exact["regions"], (exact["density_near_edges"], exact["density_elsewhere"]))
        print(f"  exact      at step {exact['step']:,}, measured now: {now}")
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
