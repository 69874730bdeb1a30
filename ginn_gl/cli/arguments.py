"""Options shared by several commands, and their translation into the core's settings types.

Only argparse lives here; what a value may be is checked where the setting is defined (core).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from ginn_gl.core.config import DEVICES, GINN, INTEGER, TrainConfig, parse_int_list
from ginn_gl.core.errors import UserError
from ginn_gl.core.experiment import branch_defaults, branch_step
from ginn_gl.core.network import ACTIVATIONS, HEADS
from ginn_gl.core.outputs import check_output
from ginn_gl.core.schedule import SCHEDULES, SNAPSHOTS
from ginn_gl.core.selection import parse_neuron_spec
from ginn_gl.core.targets import THRESHOLDS, extent
from ginn_gl.core.view import BACKGROUNDS, CONTRASTS, SHADINGS, ViewSettings, fit_domain, parse_domain

MAX_RENDER_SIZE = 8192
VIEW_DEFAULTS = {f.name: f.default for f in fields(ViewSettings)}


def integer(text: str) -> int:
    """argparse's type for integer options: a whole number written with the digits 0-9 (int() would also
    take 1_000 and other scripts' digits)."""
    if not INTEGER.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number written with the digits 0-9")
    return int(text)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (problem and where to look) and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{message} (see `{self.prog} --help`)")


def add_training_arguments(parser: argparse.ArgumentParser, several_seeds: bool = True) -> None:
    """The training options. Those that --ginn sets default to None here: --ginn or TrainConfig fills them."""
    d = TrainConfig()
    group = parser.add_argument_group("training")
    group.add_argument("--ginn", action="store_true",
                       help="the original GINN's setup: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in
                                                                      GINN.items())
                            + "; give --image PATH/TO/gin.png to reproduce its run (options given too win)")
    group.add_argument("--image", default=None, metavar="NAME|PATH",
                       help="target: a built-in name (see `ginn-gl images`), a PNG/JPEG/BMP file (made grey, its "
                            "long side resized to --resolution, thresholded), or a run file's target: RUN.npz "
                            f"(its last) or RUN.npz@STEP (the version in force at STEP) (default {d.image}; a "
                            "branch: its parent's at --at)")
    group.add_argument("--switch", action="append", default=[], metavar="STEP:IMAGE",
                       help="from STEP on, train on IMAGE (anything --image takes, of the same size); repeat for "
                            "several, in step order: the boundaries follow the new picture")
    group.add_argument("--from", dest="from_run", metavar="RUN",
                       help="branch: start from RUN's snapshot at --at STEP (its weights; a fresh Adam), with these "
                            "options; --steps counts the steps after it, which continue RUN's numbering")
    group.add_argument("--at", type=integer, metavar="STEP",
                       help="the step of --from's snapshot to branch from (the one in force then)")
    group.add_argument("--resolution", type=integer, default=None, metavar="N",
                       help=f"the target's long side in pixels; a picture keeps its proportions (default "
                            f"{d.resolution})")
    group.add_argument("--threshold", choices=THRESHOLDS, default=None,
                       help="how an image file becomes black and white: mid = white from mid-grey up; "
                            "white = the original's rule, a bilinear resize then only pure white (default "
                            f"{d.threshold})")
    group.add_argument("--layers", default=None, metavar="W,W,...",
                       help="hidden layer widths, at most 8 layers of 64 (default 16,16,16; a branch: its parent's)")
    group.add_argument("--activation", choices=tuple(ACTIVATIONS), default=None,
                       help="hidden activation; leaky_relu has slope 0.01 (default relu; a branch: its parent's)")
    group.add_argument("--head", choices=HEADS, default=None,
                       help="softmax2: two logits under a softmax, as the original (stored as their "
                            f"difference); sigmoid: one logit (default {d.head})")
    group.add_argument("--seed", type=integer, default=None,
                       help="seed of the initial weights and minibatches (default 0)")
    if several_seeds:
        group.add_argument("--seeds", default=None, metavar="S,S,...",
                           help="train several seeds at once in one worker, one run file each")
    group.add_argument("--steps", type=integer, default=None, help=f"optimiser steps (default {d.steps})")
    group.add_argument("--batch-size", type=integer, default=None, metavar="N",
                       help="pixels per minibatch, sampled with replacement; 0 = every pixel "
                            f"(full batch) (default {d.batch_size})")
    group.add_argument("--lr", type=float, default=None, help=f"Adam learning rate (default {d.lr})")
    group.add_argument("--schedule", choices=SCHEDULES, default=None,
                       help=f"cosine: decay the rate to 0 over --steps; constant: keep it (default {d.schedule})")
    group.add_argument("--snapshots", choices=SNAPSHOTS, default=None,
                       help="geometric: every step to 50, then about 1%% apart; ginn: the original's 431 "
                            f"(default {d.snapshots})")
    group.add_argument("--device", choices=DEVICES, default=d.device,
                       help="auto picks CUDA when present (default auto)")
    group.add_argument("--history-mb", type=float, default=d.history_mb, metavar="MB",
                       help="memory bound of the recorded history per seed; older snapshots "
                            f"are thinned to stay under it (default {d.history_mb:g})")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The options given, over a branch's parent's (its network, training options and target at --at), over
    --ginn's preset, over TrainConfig's defaults."""
    several = getattr(args, "seeds", None)
    if several is not None and args.seed is not None:
        raise UserError("give --seed or --seeds, not both")
    base: dict[str, Any] = {}
    if args.from_run is not None and args.at is not None:
        recorded = branch_step(args.from_run, args.at)
        if recorded != args.at:
            print(f"--at {args.at:,}: branching from step {recorded:,}, the snapshot in force then", file=sys.stderr)
            args.at = recorded
        base = branch_defaults(args.from_run, args.at)
    if args.ginn:
        base.update(GINN)
    given: dict[str, Any] = {key: getattr(args, key) for key in (*GINN, "image", "resolution", "activation")
                             if getattr(args, key) is not None}
    if args.layers is not None:
        given["layers"] = parse_int_list("--layers", args.layers, "16,16,16")
    if several is not None:
        given["seeds"] = parse_int_list("--seeds", several, "0,1,2,3")
    elif args.seed is not None:
        given["seeds"] = (args.seed,)
    return TrainConfig(**{**base, **given, "device": args.device, "history_mb": args.history_mb,
                          "switches": tuple(parse_switch(text) for text in args.switch), "parent": args.from_run,
                          "at": args.at})


def parse_switch(text: str) -> tuple[int, str]:
    """`--switch 5000:spiral` -> (5000, "spiral")."""
    step, sep, image = text.partition(":")
    if not sep or not INTEGER.fullmatch(step.strip()) or not image:
        raise UserError(f"--switch {text!r} is not STEP:IMAGE; use e.g. --switch 5000:spiral or "
                        "--switch 5000:runs/painted.npz@5000")
    return int(step), image


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """What `render` and `export` draw: the same options for both."""
    parser.add_argument("--view", choices=BACKGROUNDS, default=VIEW_DEFAULTS["background"],
                        help="background: the prediction (grey = p), the target, where the prediction is "
                             "wrong (orange: false white, blue: false black), or the linear regions (a flat "
                             "colour per activation pattern)")
    parser.add_argument("--shading", choices=SHADINGS, default=VIEW_DEFAULTS["shading"],
                        help="the regions view: flat, or each region darker where the network's logit is "
                             "flatter (the norm of its gradient) (default flat)")
    parser.add_argument("--solo", metavar="L:I",
                        help="show only this neuron's line and tint the side where it is active")
    parser.add_argument("--neurons", default="all", metavar="SPEC",
                        help="lines to draw: all, none, or L:I and L:* items (layer from 1, neuron "
                             "from 0), e.g. 1:*,2:3 (default all)")
    parser.add_argument("--highlight", metavar="L:I", help="draw this neuron's line thicker")
    parser.add_argument("--line-width", type=float, default=VIEW_DEFAULTS["line_width"], metavar="PX",
                        help=f"line width in pixels at any zoom (default {VIEW_DEFAULTS['line_width']:g})")
    parser.add_argument("--contrast", choices=CONTRASTS, default=VIEW_DEFAULTS["contrast"],
                        help="stretch: each prediction from its own min to max (over the target's pixels), "
                             "as the original GINN drew it (default none)")
    parser.add_argument("--output-boundary", action=argparse.BooleanOptionalAction,
                        default=VIEW_DEFAULTS["output_boundary"],
                        help="draw the output's decision boundary (p = 0.5) in white, as the window does (default "
                             "on; --no-output-boundary leaves it out)")
    parser.add_argument("--domain", metavar="X0,Y0,X1,Y1",
                        help="the rectangle of the input plane shown, y downwards (default "
                             "0,0,1,1); it may reach outside the data domain, which is dimmed")


def one_neuron(spec: str | None, option: str, sizes: list[int]) -> int | None:
    """The flat index of the one neuron `spec` names (L:I), or None when the option is not given."""
    if not spec:
        return None
    single = parse_neuron_spec(spec, sizes)
    if single.sum() != 1:
        raise UserError(f"{option} {spec!r} must name one neuron, as L:I")
    return int(np.flatnonzero(single)[0])


def view_from_args(args: argparse.Namespace, sizes: list[int], target_shape: tuple[int, ...] = (1, 1),
                   aspect: float = 1.0) -> ViewSettings:
    """The ViewSettings that add_view_arguments' options describe, for a network of `sizes` on a target of
    `target_shape`, drawn into a picture of `aspect` (width / height): by default the whole target, centred."""
    highlighted, solo = one_neuron(args.highlight, "--highlight", sizes), one_neuron(args.solo, "--solo", sizes)
    data = extent(target_shape)
    view = ViewSettings(sizes, background=args.view, line_width=args.line_width, output_boundary=args.output_boundary,
                        shown=parse_neuron_spec(args.neurons, sizes), highlighted=highlighted, contrast=args.contrast,
                        shading=args.shading, solo=solo, extent=data, domain=fit_domain(data, aspect))
    if args.domain:
        view.domain = parse_domain(args.domain)
    return view


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


def window_options(args: argparse.Namespace, inputs: Sequence[str | Path] = ()) -> dict[str, Any]:
    """The App's keyword arguments from add_window_arguments' options; the frame log is checked as every
    output is (`inputs`: the command's input files, which it may not be)."""
    if not (1.0 <= args.fps <= 1000.0):
        raise UserError(f"--fps {args.fps} is out of range; use 1 to 1000")
    width, _, height = args.window_size.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if not (320 <= size[0] <= 16384 and 240 <= size[1] <= 16384):
        raise UserError(f"--window-size {args.window_size!r} is not WxH from 320x240 to 16384x16384; "
                        "use e.g. --window-size 1600x900")
    overwrite = getattr(args, "overwrite", False)
    frame_log = None if args.frame_log is None else \
        check_output(args.frame_log, "--frame-log", overwrite, inputs=inputs)
    return {"fps": args.fps, "size": size, "frame_log": frame_log, "frame_log_overwrite": overwrite}
