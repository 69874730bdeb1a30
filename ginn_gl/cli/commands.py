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
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ginn_gl.cli.arguments import config_from_args
from ginn_gl.cli.progress import ProgressBar
from ginn_gl.core.exact import EXACT, geometry_kind
from ginn_gl.core.exact import describe as describe_geometry
from ginn_gl.core.exact import summary as exact_summary
from ginn_gl.core.lifecycle import NeuronStatus, neuron_report
from ginn_gl.core.outputs import check_output, free_name
from ginn_gl.core.progress import Finished, Saving, State
from ginn_gl.core.runfile import load_run, printable
from ginn_gl.core.signals import SignalGuard
from ginn_gl.core.sources import load_target

if TYPE_CHECKING:
    from ginn_gl.train.trainer import Trainer

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


def default_run_path(image: str, seed: int, folder: Path = Path("runs"), at: int | None = None) -> Path:
    """runs/<image>-seed<N>[-from<STEP>]-<time>.npz (a branch names its branch point), numbered if that
    exists (two runs in one second keep both)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    branch = "" if at is None else f"-from{at}"
    return free_name(folder / f"{image_label(image)}-seed{seed}{branch}-{stamp}.npz")


def run_paths(out: str | None, image: str, seeds: tuple[int, ...], overwrite: bool, option: str,
              at: int | None = None) -> list[Path]:
    """Where each seed's run goes, checked now, before any training: a default name (a branch's from
    step `at`), a name in the folder `out` names, or `out` itself (PATH-seed<N>.npz for several seeds);
    never the image read."""
    if out is not None and (not out.strip() or Path(out).resolve() == Path(Path(out).resolve().anchor)
                            or (Path(out).exists() and not Path(out).is_file() and not Path(out).is_dir())):
        check_output(out, option)  # says the name is empty, the root folder, or a device or a pipe
    if out is None or Path(out).is_dir() or out.endswith(("/", os.sep)):
        folder = Path("runs") if out is None else Path(out)
        paths = [default_run_path(image, seed, folder, at) for seed in seeds]
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
    paths = run_paths(args.out, config.image, config.seeds, args.overwrite, "--out", config.at)
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True)
    from ginn_gl.train.trainer import Trainer

    trainer = Trainer(config, target)
    bar = ProgressBar(config.total_steps)
    guard = SignalGuard()
    trainer.start()
    try:
        while trainer.alive:
            time.sleep(0.25)
            progress = trainer.progress()
            bar.update(progress.step, progress.steps_per_second, f"minibatch loss {progress.loss:.4f}")
    except KeyboardInterrupt:
        pass  # Ctrl+C, SIGTERM or SIGHUP: finish() stops the worker and saves what was recorded

    def measuring(left: int) -> None:
        """A short run records snapshots faster than one core measures them: say so, with a count."""
        if not bar.finished:
            end_bar(bar, trainer)
        bar.note(f"measuring regions and density: {left:,} snapshot{'' if left == 1 else 's'} left "
                 "(Ctrl+C saves without them)")

    finished = trainer.finish(Saving(tuple(paths), args.overwrite), guard=guard, report=measuring)
    if bar.finished:
        bar.note("", final=True)
    else:
        end_bar(bar, trainer)
    report_finished(finished)
    for path, run in zip(finished.saved, finished.runs):
        trained = run.meta["steps_done"] - int(run.steps[0])  # a branch's steps continue its parent's numbering
        rate = trained / trainer.elapsed if trainer.elapsed else 0.0
        where = f" from step {int(run.steps[0]):,}" if run.steps[0] else ""
        print(f"saved {path}: seed {run.meta['seed']}, {trained:,} steps{where} in "
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
               f"minibatch loss {progress.loss:.4f}", final=True)


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
    if len(run.target_steps) > 1:  # painted or switched: each version in force from its step
        print(f"  versions   {len(run.target_steps)} of the target, from steps "
              + ", ".join(f"{int(step):,}" for step in run.target_steps))
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
