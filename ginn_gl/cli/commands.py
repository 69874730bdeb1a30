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
from datetime import datetime
from pathlib import Path

import numpy as np

from ginn_gl.cli.arguments import config_from_args, parse_size, view_from_args, window_options
from ginn_gl.cli.progress import ProgressBar
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.pace import pace_label, parse_pace
from ginn_gl.core.progress import State
from ginn_gl.core.runfile import load_run, save_run
from ginn_gl.core.targets import Target, load_target

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


def default_run_path(image: str, seed: int) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{image_label(image)}-seed{seed}-{stamp}.npz"


def run_paths(out: str | None, image: str, seeds: tuple[int, ...]) -> list[Path]:
    if out is None:
        return [default_run_path(image, seed) for seed in seeds]
    path = Path(out)
    if len(seeds) == 1:
        return [path]
    stem = path.name[:-4] if path.name.endswith(".npz") else path.name
    return [path.with_name(f"{stem}-seed{seed}.npz") for seed in seeds]


# ---- train ---------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    paths = run_paths(args.out, config.image, config.seeds)
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True)
    from ginn_gl.train.trainer import Trainer

    trainer = Trainer(config, target)
    bar = ProgressBar(config.steps)
    interrupted = False
    trainer.start()
    try:
        while trainer.alive:
            time.sleep(0.25)
            progress = trainer.progress()
            bar.update(progress.step, progress.steps_per_second, progress.loss)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        trainer.stop()
    progress = trainer.progress()
    bar.update(progress.step, progress.steps_per_second, progress.loss, final=True)
    runs = trainer.runs()
    saved = [save_run(path, run) for path, run in zip(paths, runs)]
    trainer.join()  # a worker exception is raised here, after what was recorded is saved
    for path, run in zip(saved, runs):
        rate = run.meta["steps_done"] / trainer.elapsed if trainer.elapsed else 0.0
        print(f"saved {path}: seed {run.meta['seed']}, {run.meta['steps_done']:,} steps in "
              f"{trainer.elapsed:.1f} s ({rate:,.0f} steps/s), {len(run)} snapshots, full-domain "
              f"loss {run.snap_loss[0]:.4f} -> {run.snap_loss[-1]:.4f}")
    if trainer.state is State.DIVERGED:
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
        return 1
    if interrupted:
        print(f"{PROG}: interrupted at step {trainer.step:,}; what was recorded is saved",
              file=sys.stderr)
        return 130
    return 0


# ---- the window -----------------------------------------------------------------------------------

def training_session(config: TrainConfig, target: Target, pace: float | None = None):
    """A window session that trains `config` (one seed); restarting makes another with a new seed."""
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.app import Session

    trainer = Trainer(config, target, pace=pace)
    return Session(history=trainer.histories[0], target=target.pixels, sizes=config.sizes,
                   activation=config.activation, seed=config.seed, device=f"training on {trainer.device}",
                   trainer=trainer, restart=lambda seed: training_session(config.with_seed(seed), target, pace))


def cmd_live(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    window = window_options(args)
    pace = parse_pace(args.pace)
    save = None if args.no_save else Path(args.save) if args.save else default_run_path(config.image, config.seed)
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True, window=True)
    from ginn_gl.ui.app import App  # imports imgui and glfw: only for the window

    session = training_session(config, target, pace)
    app = App(session, title=f"ginn-gl: {image_label(config.image)}, seed {config.seed}", save_path=save,
              **window)
    try:
        session.trainer.start()  # once the window is open: no display means no training either
        where = "not saved" if save is None else f"saved to {save}"
        print(f"training seed {config.seed} on {image_label(config.image)} ({session.device}, pace "
              f"{pace_label(pace)}); close the window, press Esc or Q, or Ctrl+C here to stop: the run is {where}",
              flush=True)
        app.run()
    finally:
        trainer = app.session.trainer
        saved = app.close()  # stops the worker and saves, whatever ended the loop
    for path in saved:
        print(f"saved {path}: {trainer.step:,} steps, {len(trainer.histories[0])} snapshots")
    if trainer.state is State.DIVERGED:
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    window = window_options(args)
    run = load_run(args.run)
    prepare_process(window=True)
    from ginn_gl.ui.app import App, replay_session

    app = App(replay_session(run), title=f"ginn-gl replay: {Path(args.run).name}", **window)
    print(f"replaying {args.run} ({len(run)} snapshots); close the window or press Esc or Q to quit",
          flush=True)
    try:
        app.run()
    finally:
        app.close()
    return 0


# ---- render, export --------------------------------------------------------------------------

def pick_snapshot(run, snapshot: int | None, step: int | None) -> int:
    """Index of the snapshot to show: by index (negative from the end) or by its step."""
    count = len(run)
    if step is not None:
        matches = np.flatnonzero(run.steps == step)
        if not len(matches):
            i = int(np.searchsorted(run.steps, step))
            near = ", ".join(str(int(s)) for s in run.steps[max(0, i - 1):i + 1])
            raise UserError(f"--step {step} was not recorded in {run.path}; the nearest recorded "
                            f"steps are {near} (see `ginn-gl info`)")
        return int(matches[0])
    index = -1 if snapshot is None else snapshot
    if not -count <= index < count:
        raise UserError(f"--snapshot {index} is out of range; {run.path} holds {count} snapshots "
                        f"(0..{count - 1}, or -1 for the last)")
    return index % count


def cmd_render(args: argparse.Namespace) -> int:
    from PIL import Image

    from ginn_gl.render.context import headless_context
    from ginn_gl.render.renderer import NetworkRenderer, render_image

    if args.snapshot is not None and args.step is not None:
        raise UserError("give --snapshot or --step, not both")
    run = load_run(args.run)
    index = pick_snapshot(run, args.snapshot, args.step)
    size = parse_size(args.size)
    view = view_from_args(args, run.layers)
    ctx = headless_context()
    renderer = NetworkRenderer(ctx, run.layers, run.activation)
    renderer.set_weights(run.weights[index])
    renderer.set_target(run.target)
    pixels = render_image(ctx, renderer, size, view)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        Image.fromarray(pixels[..., :3]).save(out)
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot write {out} ({exc}); give a writable path ending in .png") from None
    lines = int(view.shown.sum()) + int(view.highlighted is not None and not view.shown[view.highlighted])
    print(f"wrote {out}: {size[0]}x{size[1]}, {view.view} view of step {int(run.steps[index]):,} "
          f"(snapshot {index} of {len(run)}), {lines} of {len(view.shown)} neuron lines")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ginn_gl.render.export import frames, output_format, pick_indices, write

    out = Path(args.out)
    kind = output_format(out)
    run = load_run(args.run)
    size = parse_size(args.size)
    if size[0] != size[1]:
        raise UserError(f"--size {args.size!r}: exports are square; give one number, e.g. --size 400")
    if not (0.1 <= args.fps <= 240):
        raise UserError(f"--fps {args.fps} is out of range; use 0.1 to 240")
    if args.frames is not None and args.frames < 1:
        raise UserError(f"--frames {args.frames} must be at least 1")
    view = view_from_args(args, run.layers)
    indices = pick_indices(run, args.frames)
    count = write(out, kind, frames(run, indices, size[0], view, not args.no_label), args.fps)
    print(f"wrote {out}: {count} frames ({kind}) of {len(run)} snapshots, steps {int(run.steps[indices[0]]):,} "
          f"to {int(run.steps[indices[-1]]):,}, {size[0]}x{size[0]}")
    return 0


# ---- info, images --------------------------------------------------------------------------------

def run_summary(run) -> dict:
    return {
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
    print(f"{run.path}")
    print(f"  network    {layers} ({summary['parameters']} parameters), {meta['activation']}, "
          f"{meta.get('head', 'sigmoid')} head, seed {meta['seed']}")
    print(f"  target     {meta['image']} at {run.target.shape[1]}x{run.target.shape[0]}, "
          f"{meta.get('threshold', 'mid')} threshold")
    print(f"  training   {meta['steps']:,} steps planned, {summary['last_step']:,} done, Adam "
          f"lr {meta['lr']:g} ({meta['schedule']}), {batch}, on {meta['device']}")
    if meta.get("message"):
        print(f"  note       {meta['message']}")
    print(f"  snapshots  {len(run)} ({meta.get('snapshots', 'geometric')}) from step {summary['first_step']:,} "
          f"to {summary['last_step']:,}")
    print(f"  loss       full domain {summary['first_loss']:.4f} -> {summary['last_loss']:.4f}; "
          f"minibatch curve of {summary['minibatch_points']:,} points")
    print(f"  created    {meta['created']} with torch {meta['torch_version']}")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from ginn_gl.core.targets import DEFAULT_IMAGE, builtin_targets

    for name, description in builtin_targets().items():
        mark = " (default)" if name == DEFAULT_IMAGE else ""
        print(f"{name:10s} {description}{mark}")
    print("Any PNG/JPEG/BMP path works too: made grey, resized to --resolution, thresholded at "
          "mid-grey.")
    return 0
