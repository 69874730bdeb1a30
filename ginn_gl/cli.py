"""The `ginn-gl` command: wiring of targets, trainer, run files, renderer and window.

Bad input raises UserError anywhere below; main() turns it into one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

from ginn_gl import __version__
from ginn_gl.errors import UserError

PROG = "ginn-gl"
SUBCOMMANDS = ("live", "train", "replay", "render", "info", "images")


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
    saved = [save_run(path, run) for path, run in zip(paths, trainer.runs())]
    trainer.join()  # a worker exception is raised here, after what was recorded is saved
    for path, run in zip(saved, trainer.runs()):
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


def build_parser() -> argparse.ArgumentParser:
    from ginn_gl.config import add_training_arguments

    parser = OneLineParser(prog=PROG, description=DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="Run `ginn-gl COMMAND --help` for each command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

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

    images = sub.add_parser("images", help="list the built-in targets",
                            description="List the built-in target images.")
    images.set_defaults(func=cmd_images)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return args.func(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
