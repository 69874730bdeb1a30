"""The `ginn-gl` command: argparse and wiring (the only package that knows every layer).

Bad input raises UserError anywhere below; main() turns it into one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import io
import sys

from ginn_gl import __version__
from ginn_gl.cli.arguments import OneLineParser, add_training_arguments, add_view_arguments, integer
from ginn_gl.cli.commands import PROG, cmd_images, cmd_info, cmd_train
from ginn_gl.cli.drawing import cmd_export, cmd_render
from ginn_gl.cli.window import cmd_live, cmd_replay
from ginn_gl.core.errors import UserError
from ginn_gl.core.pace import DEFAULT_PACE

DESCRIPTION = """\
Watch a small ReLU network learn a black-and-white picture: it maps each pixel (x, y) to the
probability that the pixel is white, and every hidden neuron switches on along a line (layer 1)
or a bent polyline (deeper layers). ginn-gl trains the network and draws those boundaries.
"""


def drawing_parser(sub, name: str, summary: str, description: str, out: tuple[str, str],
                   size: tuple[str, str, str]) -> argparse.ArgumentParser:
    """A command that draws a run headlessly: the run, --out, --size and the view options."""
    parser = sub.add_parser(name, help=summary, description=description)
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="a run file (.npz); several (up to 9, of one target size) are drawn side by side "
                             "in a grid, all at one step")
    parser.add_argument("--out", required=True, metavar=out[0], help=out[1])
    parser.add_argument("--size", default=size[0], metavar=size[1], help=size[2])
    add_view_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    return parser


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fps", type=float, default=60.0, help="frame limit (default 60)")
    parser.add_argument("--window-size", default="1600x900", metavar="WxH",
                        help="the window's size in screen units (default 1600x900)")
    parser.add_argument("--frame-log", metavar="PATH",
                        help="write one JSON line per presented frame (time, step shown, newest step, "
                             "training, view scale and time, keys handled): for benches and bug reports")


def build_parser() -> argparse.ArgumentParser:
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
                                      "diagram (F1 lists the keys). On close the run is saved. --seeds 0,1,2,3 "
                                      "(up to 9) trains several networks together and shows them side by side.")
    add_training_arguments(live, several_seeds=True)  # several seeds: side by side in a grid
    saving = live.add_mutually_exclusive_group()
    saving.add_argument("--save", metavar="PATH",
                        help="where the run is saved on close (default runs/<image>-seed<N>-<time>.npz); with "
                             "--seeds, one file per seed named PATH-seed<N>.npz")
    saving.add_argument("--no-save", action="store_true", help="do not save the run on close")
    live.add_argument("--overwrite", action="store_true", help="replace --save (and --frame-log) if it exists")
    live.add_argument("--pace", default=str(DEFAULT_PACE), metavar="N|max",
                      help="training pace in snapshots per second, the unit of playback: early, when every "
                           "step is a snapshot, you see each one; later the hardware sets the speed. max: "
                           f"no limit (default {DEFAULT_PACE:g}; `ginn-gl train` is never paced)")
    add_window_arguments(live)
    live.set_defaults(func=cmd_live)

    replay = sub.add_parser("replay", help="the window on recorded runs, no training",
                            description="Open the window on recorded run files to scrub and play their "
                                        "history; nothing is trained. Several runs of one target size (seeds, "
                                        "batch sizes, heads, architectures) share a grid and one slider, by step.")
    replay.add_argument("runs", nargs="+", metavar="RUN", help="a run file (.npz); up to 9")
    add_window_arguments(replay)
    replay.add_argument("--overwrite", action="store_true", help="replace --frame-log if it exists")
    replay.set_defaults(func=cmd_replay)

    train = sub.add_parser("train", help="train headlessly with a progress bar; write a run file",
                           description="Train headlessly with a progress bar and write the run "
                                       "file (the whole snapshot history). Ctrl+C saves what was "
                                       "recorded and exits 130.")
    add_training_arguments(train)
    train.add_argument("--out", metavar="PATH",
                       help="run file to write (default runs/<image>-seed<N>-<time>.npz); with "
                            "--seeds, one file per seed named PATH-seed<N>.npz")
    train.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    train.set_defaults(func=cmd_train)

    info = sub.add_parser("info", help="what a run file holds",
                          description="Show what a run file holds: meta, snapshots, first and "
                                      "last loss.")
    info.add_argument("run", metavar="RUN", help="a run file (.npz)")
    info.add_argument("--json", action="store_true", help="print it as JSON")
    info.set_defaults(func=cmd_info)

    render = drawing_parser(sub, "render", "draw a snapshot of a run to a PNG or an SVG, without a display",
                            "Draw one snapshot of a run file to a PNG: the network evaluated per pixel on the "
                            "GPU (EGL, no display needed), with each selected neuron's zero-crossing as a line; "
                            "or to a vector SVG (one run): each line a path of its exact segments, the regions "
                            "view a polygon per linear region, other views' backgrounds an embedded PNG.",
                            out=("FILE.png|FILE.svg", "the PNG or SVG to write"),
                            size=("", "N|WxH", "image size in pixels (default 800 on the target's long side, "
                                               "the picture's proportions kept); at the run's resolution and the "
                                               "default domain, pixels line up with the target's"))
    render.add_argument("--snapshot", type=integer, metavar="K",
                        help="snapshot index, negative from the end (default -1, the last)")
    render.add_argument("--step", type=integer, metavar="N",
                        help="the snapshot in force at step N (the newest at or before it, as the window shows N); "
                             "for a grid, each run's (default: the newest step)")
    render.add_argument("--no-label", action="store_true", help="leave out a grid's labels (run, step, loss)")
    render.set_defaults(func=cmd_render)

    export = drawing_parser(sub, "export", "a run's history as an .mp4, a .gif, a folder of PNGs or a web page",
                            "Draw every snapshot of a run (or --frames of them) with no display and write them "
                            "as a video (.mp4, needs `pip install 'ginn-gl[video]'`), an animated GIF, or PNGs "
                            "in a folder; or write one self-contained web page (.html) that draws the history "
                            "in the browser (WebGL2), with the window's controls (the view options set what it "
                            "first shows; --size and --fps do not apply).",
                            out=("FILE.mp4|FILE.gif|FILE.html|FOLDER", "what to write"),
                            size=("400", "N", "frame size in pixels (default 400)"))
    export.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    export.add_argument("--frames", metavar="N|all",
                        help="at most N frames, spread evenly over the snapshots (dense early, as the history "
                             "is); all: every snapshot (default 300)")
    export.add_argument("--no-label", action="store_true",
                        help="leave out the labels (step and loss; in a grid, each run's name too)")
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
    for stream in (sys.stdout, sys.stderr):  # a terminal that is not UTF-8 gets escapes, never an error
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
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
