"""The `ginn-gl` command: wiring of targets, trainer, run files, renderer and window.

Bad input raises UserError anywhere below; main() turns it into one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from ginn_gl import __version__
from ginn_gl.errors import UserError

PROG = "ginn-gl"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (problem and where to look) and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{message} (see `{self.prog} --help`)")


# ---- train ---------------------------------------------------------------------------------------

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


class ProgressBar:
    """A one-line progress bar on stderr; on a non-terminal, a line every 10%."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.perf_counter()
        self.last_decile = -1
        self.last_step = -1

    def update(self, step: int, rate: float, loss: float, final: bool = False) -> None:
        fraction = step / self.total if self.total else 1.0
        elapsed = time.perf_counter() - self.started
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        text = (f"{fraction:6.1%} step {step:,}/{self.total:,}  {rate:,.0f} steps/s  "
                f"loss {loss:.4f}  {_clock(elapsed)} elapsed" + ("" if final else f", ETA {_clock(eta)}"))
        if self.tty:
            width = 24
            filled = int(width * fraction)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\x1b[K")
            if final:
                self.stream.write("\n")
        else:
            decile = int(fraction * 10)
            if decile == self.last_decile and not (final and step != self.last_step):
                return
            self.last_decile = decile
            self.stream.write(text + "\n")
        self.last_step = step
        self.stream.flush()


def _clock(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def cmd_train(args: argparse.Namespace) -> int:
    from ginn_gl.config import config_from_args
    from ginn_gl.runfile import save_run
    from ginn_gl.targets import load_target
    from ginn_gl.trainer import Trainer

    config = config_from_args(args)
    paths = run_paths(args.out, config.image, config.seeds)
    target = load_target(config.image, config.resolution)
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
        trainer.stop()
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
    if trainer.state == "diverged":
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
        return 1
    if interrupted:
        print(f"{PROG}: interrupted at step {trainer.step:,}; what was recorded is saved",
              file=sys.stderr)
        return 130
    return 0


# ---- the window -----------------------------------------------------------------------------------

def check_window_fps(fps: float) -> None:
    if not (1.0 <= fps <= 1000.0):
        raise UserError(f"--fps {fps} is out of range; use 1 to 1000")


def cmd_live(args: argparse.Namespace) -> int:
    from ginn_gl.config import config_from_args
    from ginn_gl.targets import load_target

    config = config_from_args(args)
    check_window_fps(args.fps)
    save = None if args.no_save else Path(args.save) if args.save else default_run_path(config.image, config.seed)
    target = load_target(config.image, config.resolution)
    from ginn_gl.app import App, live_session  # imports imgui and glfw: only for the window

    session = live_session(config, target)
    app = App(session, title=f"ginn-gl: {image_label(config.image)}, seed {config.seed}", save_path=save,
              fps=args.fps)
    try:
        session.trainer.start()  # once the window is open: no display means no training either
        where = "not saved" if save is None else f"saved to {save}"
        print(f"training seed {config.seed} on {image_label(config.image)} ({session.device}); close the "
              f"window, press Esc or Q, or Ctrl+C here to stop: the run is {where}", flush=True)
        app.run()
    finally:
        trainer = app.session.trainer
        saved = app.close()  # stops the worker and saves, whatever ended the loop
    for path in saved:
        print(f"saved {path}: {trainer.step:,} steps, {len(trainer.histories[0])} snapshots")
    if trainer.state == "diverged":
        print(f"{PROG}: {trainer.message}", file=sys.stderr)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from ginn_gl.runfile import load_run

    check_window_fps(args.fps)
    run = load_run(args.run)
    from ginn_gl.app import App, replay_session

    app = App(replay_session(run), title=f"ginn-gl replay: {Path(args.run).name}", fps=args.fps)
    print(f"replaying {args.run} ({len(run)} snapshots); close the window or press Esc or Q to quit",
          flush=True)
    try:
        app.run()
    finally:
        app.close()
    return 0


# ---- render --------------------------------------------------------------------------------------

MAX_RENDER_SIZE = 8192


def parse_size(text: str) -> tuple[int, int]:
    width_text, sep, height_text = text.lower().partition("x")
    try:
        width = int(width_text)
        height = int(height_text) if sep else width
    except ValueError:
        raise UserError(f"--size {text!r} is not N or WxH; use e.g. --size 800 or --size 1920x1080") from None
    if not (1 <= width <= MAX_RENDER_SIZE and 1 <= height <= MAX_RENDER_SIZE):
        raise UserError(f"--size {text!r} is out of range; use 1 to {MAX_RENDER_SIZE} pixels a side")
    return width, height


def parse_domain(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise UserError(f"--domain {text!r} is not four numbers X0,Y0,X1,Y1; use e.g. "
                        "--domain 0,0,1,1 (the data domain) or -0.5,-0.5,1.5,1.5")
    x0, y0, x1, y1 = values
    if not (x1 > x0 and y1 > y0):
        raise UserError(f"--domain {text!r} is empty; X1 must exceed X0 and Y1 exceed Y0")
    return values  # type: ignore[return-value]


def positive_float(option: str, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{option} {value} must be a positive number of pixels")
    return value


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

    from ginn_gl.gl import headless_context
    from ginn_gl.renderer import NetworkRenderer, render_image
    from ginn_gl.runfile import load_run

    if args.snapshot is not None and args.step is not None:
        raise UserError("give --snapshot or --step, not both")
    run = load_run(args.run)
    index = pick_snapshot(run, args.snapshot, args.step)
    size = parse_size(args.size)
    options, shown, highlighted = view_from_args(args, run.layers)
    ctx = headless_context()
    renderer = NetworkRenderer(ctx, run.layers, run.activation)
    renderer.set_weights(run.weights[index])
    renderer.set_target(run.target)
    renderer.set_neurons(shown, highlighted)
    pixels = render_image(ctx, renderer, size, options)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        Image.fromarray(pixels[..., :3]).save(out)
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot write {out} ({exc}); give a writable path ending in .png") from None
    print(f"wrote {out}: {size[0]}x{size[1]}, {args.view} view of step {int(run.steps[index]):,} "
          f"(snapshot {index} of {len(run)}), {int(shown.sum())} of {len(shown)} neuron lines")
    return 0


# ---- export --------------------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from ginn_gl.export import frames, output_format, pick_indices, write
    from ginn_gl.runfile import load_run

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
    options, shown, highlighted = view_from_args(args, run.layers)
    indices = pick_indices(run, args.frames)
    images = frames(run, indices, size[0], options, shown, highlighted, not args.no_label)
    count = write(out, kind, images, args.fps)
    print(f"wrote {out}: {count} frames ({kind}) of {len(run)} snapshots, steps {int(run.steps[indices[0]]):,} "
          f"to {int(run.steps[indices[-1]]):,}, {size[0]}x{size[0]}")
    return 0


# ---- info, images --------------------------------------------------------------------------------

def run_summary(run) -> dict:
    meta = run.meta
    return {
        "path": str(run.path),
        "meta": meta,
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
    from ginn_gl.runfile import load_run

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
          f"seed {meta['seed']}")
    print(f"  target     {meta['image']} at {run.target.shape[1]}x{run.target.shape[0]}")
    print(f"  training   {meta['steps']:,} steps planned, {summary['last_step']:,} done, Adam "
          f"lr {meta['lr']:g} ({meta['schedule']}), {batch}, on {meta['device']}")
    if meta.get("message"):
        print(f"  note       {meta['message']}")
    print(f"  snapshots  {len(run)} from step {summary['first_step']:,} to "
          f"{summary['last_step']:,}")
    print(f"  loss       full domain {summary['first_loss']:.4f} -> {summary['last_loss']:.4f}; "
          f"minibatch curve of {summary['minibatch_points']:,} points")
    print(f"  created    {meta['created']} with torch {meta['torch_version']}")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from ginn_gl.targets import DEFAULT_IMAGE, builtin_targets

    for name, description in builtin_targets().items():
        mark = " (default)" if name == DEFAULT_IMAGE else ""
        print(f"{name:10s} {description}{mark}")
    print("Any PNG/JPEG/BMP path works too: made grey, resized to --resolution, thresholded at "
          "mid-grey.")
    return 0


# ---- the parser --------------------------------------------------------------------------------

DESCRIPTION = """\
Watch a small ReLU network learn a black-and-white picture: it maps each pixel (x, y) to the
probability that the pixel is white, and every hidden neuron switches on along a line (layer 1)
or a bent polyline (deeper layers). ginn-gl trains the network and draws those boundaries.
"""


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """What `render` and `export` draw: the same options for both."""
    from ginn_gl.renderer import VIEWS

    parser.add_argument("--view", choices=VIEWS, default="prediction",
                        help="background: the prediction (grey = p), the target, or where the "
                             "prediction is wrong (orange: false white, blue: false black)")
    parser.add_argument("--neurons", default="all", metavar="SPEC",
                        help="lines to draw: all, none, or L:I and L:* items (layer from 1, neuron "
                             "from 0), e.g. 1:*,2:3 (default all)")
    parser.add_argument("--highlight", metavar="L:I", help="draw this neuron's line thicker")
    parser.add_argument("--line-width", type=float, default=1.5, metavar="PX",
                        help="line width in pixels at any zoom (default 1.5)")
    parser.add_argument("--output-boundary", action="store_true",
                        help="also draw the output's decision boundary (p = 0.5) in white")
    parser.add_argument("--domain", metavar="X0,Y0,X1,Y1",
                        help="the rectangle of the input plane shown, y downwards (default "
                             "0,0,1,1); it may reach outside the data domain, which is dimmed")


def view_from_args(args: argparse.Namespace, layers: list[int]):
    """(ViewOptions, shown mask, highlighted neuron or None) from add_view_arguments' options."""
    from ginn_gl.renderer import DEFAULT_DOMAIN, ViewOptions
    from ginn_gl.selection import parse_neuron_spec

    options = ViewOptions(view=args.view, line_width=positive_float("--line-width", args.line_width),
                          output_boundary=args.output_boundary,
                          domain=parse_domain(args.domain) if args.domain else DEFAULT_DOMAIN)
    shown = parse_neuron_spec(args.neurons, layers)
    highlighted = None
    if args.highlight:
        single = parse_neuron_spec(args.highlight, layers)
        if single.sum() != 1:
            raise UserError(f"--highlight {args.highlight!r} must name one neuron, as L:I")
        highlighted = int(np.flatnonzero(single)[0])
        shown[highlighted] = True
    return options, shown, highlighted


def build_parser() -> argparse.ArgumentParser:
    from ginn_gl.config import add_training_arguments

    parser = OneLineParser(prog=PROG, description=DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="With no COMMAND, `ginn-gl [options]` opens the window: it is "
                                  "`ginn-gl live [options]` (see `ginn-gl live --help`), e.g. "
                                  "`ginn-gl --seed 2`. Run `ginn-gl COMMAND --help` for each command's "
                                  "options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    live = sub.add_parser("live", help="the window: train and watch (the default command)",
                          description="Open the window and train at once: the view shows the network's "
                                      "prediction and every neuron's boundary as it learns; the panel holds "
                                      "the loss plot, the history slider, neuron toggles and the network "
                                      "diagram (F1 lists the keys). On close the run is saved.")
    add_training_arguments(live, several_seeds=False)  # the window shows one network
    saving = live.add_mutually_exclusive_group()
    saving.add_argument("--save", metavar="PATH",
                        help="where the run is saved on close (default runs/<image>-seed<N>-<time>.npz)")
    saving.add_argument("--no-save", action="store_true", help="do not save the run on close")
    live.add_argument("--fps", type=float, default=60.0, help="frame limit (default 60)")
    live.set_defaults(func=cmd_live)

    replay = sub.add_parser("replay", help="the window on a recorded run, no training",
                            description="Open the window on a recorded run file to scrub and play its "
                                        "history; nothing is trained.")
    replay.add_argument("run", metavar="RUN", help="a run file (.npz)")
    replay.add_argument("--fps", type=float, default=60.0, help="frame limit (default 60)")
    replay.set_defaults(func=cmd_replay)

    train = sub.add_parser("train", help="train headlessly with a progress bar; write a run file",
                           description="Train headlessly with a progress bar and write the run "
                                       "file (the whole snapshot history). Ctrl+C saves what was "
                                       "recorded and exits 130.")
    add_training_arguments(train)
    train.add_argument("--out", metavar="PATH",
                       help="run file to write (default runs/<image>-seed<N>-<time>.npz); with "
                            "--seeds, one file per seed named PATH-seed<N>.npz")
    train.set_defaults(func=cmd_train)

    info = sub.add_parser("info", help="what a run file holds",
                          description="Show what a run file holds: meta, snapshots, first and "
                                      "last loss.")
    info.add_argument("run", metavar="RUN", help="a run file (.npz)")
    info.add_argument("--json", action="store_true", help="print it as JSON")
    info.set_defaults(func=cmd_info)

    render = sub.add_parser("render", help="draw a snapshot of a run to a PNG, without a display",
                            description="Draw one snapshot of a run file to a PNG: the network "
                                        "evaluated per pixel on the GPU (EGL, no display needed), "
                                        "with each selected neuron's zero-crossing as a line.")
    render.add_argument("run", metavar="RUN", help="a run file (.npz)")
    render.add_argument("--out", required=True, metavar="FILE.png", help="the PNG to write")
    render.add_argument("--snapshot", type=int, metavar="K",
                        help="snapshot index, negative from the end (default -1, the last)")
    render.add_argument("--step", type=int, metavar="N", help="the snapshot recorded at step N")
    render.add_argument("--size", default="800", metavar="N|WxH",
                        help="image size in pixels (default 800); at the run's resolution and the "
                             "default domain, pixels line up with the target's")
    add_view_arguments(render)
    render.set_defaults(func=cmd_render)

    export = sub.add_parser("export", help="a run's history as an .mp4, a .gif or a folder of PNGs",
                            description="Draw every snapshot of a run (or --frames of them) with no display "
                                        "and write them as a video (.mp4, needs `pip install "
                                        "'ginn-gl[video]'`), an animated GIF, or PNGs in a folder.")
    export.add_argument("run", metavar="RUN", help="a run file (.npz)")
    export.add_argument("--out", required=True, metavar="FILE.mp4|FILE.gif|FOLDER", help="what to write")
    export.add_argument("--size", default="400", metavar="N", help="frame size in pixels (default 400)")
    export.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    export.add_argument("--frames", type=int, metavar="N",
                        help="at most N frames, spread over the history (default: every snapshot)")
    add_view_arguments(export)
    export.add_argument("--no-label", action="store_true", help="leave out the step and loss label")
    export.set_defaults(func=cmd_export)

    images = sub.add_parser("images", help="list the built-in targets",
                            description="List the built-in target images.")
    images.set_defaults(func=cmd_images)
    return parser


def join_negative_values(argv: list[str], options=("--domain",)) -> list[str]:
    """`--domain -0.5,...` -> `--domain=-0.5,...`: argparse would take the value for an option."""
    joined, i = [], 0
    while i < len(argv):
        if argv[i] in options and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            joined.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            joined.append(argv[i])
            i += 1
    return joined


def main(argv: list[str] | None = None) -> int:
    argv = join_negative_values(list(sys.argv[1:] if argv is None else argv))
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["live", *argv]  # `ginn-gl --seed 2` is the window
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
