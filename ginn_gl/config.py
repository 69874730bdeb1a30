"""Training options: one dataclass, validated in one place, shared by `train` and the window."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, replace

from ginn_gl.errors import UserError
from ginn_gl.network import ACTIVATIONS
from ginn_gl.schedule import SCHEDULES
from ginn_gl.targets import DEFAULT_IMAGE, MAX_RESOLUTION, MIN_RESOLUTION

MAX_HIDDEN_LAYERS = 8
MAX_WIDTH = 64
DEVICES = ("auto", "cpu", "cuda")
MAX_BATCH = 1 << 20


@dataclass(frozen=True)
class TrainConfig:
    layers: tuple[int, ...] = (16, 16, 16)  # hidden widths
    activation: str = "relu"
    seeds: tuple[int, ...] = (0,)
    image: str = DEFAULT_IMAGE
    resolution: int = 200
    batch_size: int = 128  # 0 = full batch
    lr: float = 1e-3
    schedule: str = "cosine"
    steps: int = 200_000
    device: str = "auto"
    history_mb: float = 64.0

    @property
    def seed(self) -> int:
        return self.seeds[0]

    @property
    def sizes(self) -> list[int]:
        return [2, *self.layers, 1]

    def with_seed(self, seed: int) -> TrainConfig:
        return replace(self, seeds=(seed,))

    def as_meta(self) -> dict:
        meta = asdict(self)
        meta.pop("seeds")
        meta["layers"] = self.sizes
        meta["seed"] = self.seed
        return meta


def parse_layers(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(",") if part.strip() != "")
    except ValueError:
        raise UserError(f"--layers {text!r} is not a comma list of widths; "
                        "use for example --layers 16,16,16") from None
    if not widths or min(widths) < 1:
        raise UserError(f"--layers {text!r} needs at least one hidden layer of width >= 1; "
                        "use for example --layers 16,16,16")
    if len(widths) > MAX_HIDDEN_LAYERS or max(widths) > MAX_WIDTH:
        raise UserError(f"--layers {text!r} is too large; use at most {MAX_HIDDEN_LAYERS} "
                        f"hidden layers of at most {MAX_WIDTH} neurons")
    return widths


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip() != "")
    except ValueError:
        raise UserError(f"--seeds {text!r} is not a comma list of integers; "
                        "use for example --seeds 0,1,2,3") from None
    if not seeds:
        raise UserError("--seeds is empty; use for example --seeds 0,1,2,3")
    if len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds {text!r} repeats a seed; list each seed once")
    if min(seeds) < 0:
        raise UserError("seeds must be >= 0")
    return seeds


def add_training_arguments(parser: argparse.ArgumentParser, several_seeds: bool = True) -> None:
    d = TrainConfig()
    group = parser.add_argument_group("training")
    group.add_argument("--image", default=d.image, metavar="NAME|PATH",
                       help="target: a built-in name (see `ginn-gl images`) or a PNG/JPEG/BMP "
                            f"file, made grey, resized and thresholded (default {d.image})")
    group.add_argument("--resolution", type=int, default=d.resolution, metavar="N",
                       help=f"target size N x N pixels, {MIN_RESOLUTION}..{MAX_RESOLUTION} "
                            f"(default {d.resolution})")
    group.add_argument("--layers", default=",".join(map(str, d.layers)), metavar="W,W,...",
                       help="hidden layer widths, at most 8 layers of 64 (default 16,16,16)")
    group.add_argument("--activation", choices=ACTIVATIONS, default=d.activation,
                       help="hidden activation; leaky_relu has slope 0.01 (default relu)")
    group.add_argument("--seed", type=int, default=None,
                       help="seed of the initial weights and minibatches (default 0)")
    if several_seeds:
        group.add_argument("--seeds", default=None, metavar="S,S,...",
                           help="train several seeds at once in one worker, one run file each")
    group.add_argument("--steps", type=int, default=d.steps,
                       help=f"optimiser steps (default {d.steps})")
    group.add_argument("--batch-size", type=int, default=d.batch_size, metavar="N",
                       help="pixels per minibatch, sampled with replacement; 0 = every pixel "
                            f"(full batch) (default {d.batch_size})")
    group.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    group.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                       help="cosine: decay the rate to 0 over --steps; constant: keep it "
                            "(default cosine)")
    group.add_argument("--device", choices=DEVICES, default=d.device,
                       help="auto picks CUDA when present (default auto)")
    group.add_argument("--history-mb", type=float, default=d.history_mb, metavar="MB",
                       help="memory bound of the recorded history per seed; older snapshots "
                            f"are thinned to stay under it (default {d.history_mb:g})")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    several = getattr(args, "seeds", None)
    if several is not None and args.seed is not None:
        raise UserError("give --seed or --seeds, not both")
    if several is not None:
        seeds = parse_seeds(several)
    else:
        seeds = (0 if args.seed is None else args.seed,)
        if seeds[0] < 0:
            raise UserError(f"--seed {seeds[0]} is negative; use a seed >= 0")
    if args.steps < 1:
        raise UserError(f"--steps {args.steps} must be at least 1")
    if not 0 <= args.batch_size <= MAX_BATCH:
        raise UserError(f"--batch-size {args.batch_size} is out of range; use 1 to {MAX_BATCH} "
                        "pixels, or 0 for full batch")
    if not math.isfinite(args.lr) or args.lr <= 0:
        raise UserError(f"--lr {args.lr} must be a positive finite number, e.g. --lr 1e-3")
    if not (MIN_RESOLUTION <= args.resolution <= MAX_RESOLUTION):
        raise UserError(f"--resolution {args.resolution} is out of range; use "
                        f"{MIN_RESOLUTION} to {MAX_RESOLUTION}")
    if not math.isfinite(args.history_mb) or args.history_mb <= 0:
        raise UserError(f"--history-mb {args.history_mb} must be a positive number of megabytes")
    return TrainConfig(layers=parse_layers(args.layers), activation=args.activation, seeds=seeds,
                       image=args.image, resolution=args.resolution, batch_size=args.batch_size,
                       lr=args.lr, schedule=args.schedule, steps=args.steps, device=args.device,
                       history_mb=args.history_mb)
