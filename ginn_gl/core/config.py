"""Training options: one dataclass, validated once (on construction), shared by `train` and the window.

The command line (cli/) parses text into these; the messages name the option a user typed.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace

from ginn_gl.core.errors import UserError
from ginn_gl.core.network import ACTIVATIONS, HEADS, INPUTS, OUTPUTS
from ginn_gl.core.resources import available_bytes
from ginn_gl.core.schedule import SCHEDULES, SNAPSHOTS
from ginn_gl.core.targets import DEFAULT_IMAGE, THRESHOLDS

MAX_HIDDEN_LAYERS = 8
MAX_WIDTH = 64
DEVICES = ("auto", "cpu", "cuda")
MAX_BATCH = 1 << 20
MIN_RESOLUTION = 8
MAX_RESOLUTION = 2048
MAX_SEED = 2**64 - 1  # torch's generators take 64-bit seeds
MAX_LR = 1e30  # a larger rate overflows float32 in the schedule: refused, not warned about


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
    head: str = "softmax2"  # the original's two-logit softmax (see network.HEADS)
    threshold: str = "mid"  # how an image file becomes black and white (see targets.THRESHOLDS)
    snapshots: str = "geometric"  # when snapshots are taken (see schedule.SNAPSHOTS)
    switches: tuple[tuple[int, str], ...] = ()  # (step, image): the target changes to it from that step on
    parent: str | None = None  # a run file to branch from, at step `at`: its weights, a fresh Adam
    at: int | None = None

    def __post_init__(self) -> None:
        check_layers(self.layers)
        check_seeds(self.seeds)
        if self.activation not in ACTIVATIONS:
            raise UserError(f"--activation {self.activation!r} is unknown; use one of {', '.join(ACTIVATIONS)}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"--schedule {self.schedule!r} is unknown; use one of {', '.join(SCHEDULES)}")
        for option, value, choices in (("--device", self.device, DEVICES), ("--head", self.head, HEADS),
                                       ("--threshold", self.threshold, THRESHOLDS),
                                       ("--snapshots", self.snapshots, SNAPSHOTS)):
            if value not in choices:
                raise UserError(f"{option} {value!r} is unknown; use one of {', '.join(choices)}")
        if self.steps < 1:
            raise UserError(f"--steps {self.steps} must be at least 1")
        if (self.parent is None) != (self.at is None):
            raise UserError("--from RUN and --at STEP go together: give both to branch from a run's snapshot")
        if self.at is not None and self.at < 0:
            raise UserError(f"--at {self.at} must be a step of the run, 0 or more")
        last = self.start_step
        for step, spec in self.switches:
            if not last < step < self.start_step + self.steps:
                where = "beyond --steps" if step >= self.start_step + self.steps else "not after the one before"
                raise UserError(f"--switch {step}:{spec} is {where}; give steps from {self.start_step + 1} to "
                                f"{self.start_step + self.steps - 1}, each after the last")
            last = step
        if not 0 <= self.batch_size <= MAX_BATCH:
            raise UserError(f"--batch-size {self.batch_size} is out of range; use 1 to {MAX_BATCH} "
                            "pixels, or 0 for full batch")
        if not math.isfinite(self.lr) or not 0 < self.lr <= MAX_LR:
            raise UserError(f"--lr {self.lr} must be a positive number up to {MAX_LR:g}, e.g. --lr 1e-3")
        if not MIN_RESOLUTION <= self.resolution <= MAX_RESOLUTION:
            raise UserError(f"--resolution {self.resolution} is out of range; use "
                            f"{MIN_RESOLUTION} to {MAX_RESOLUTION}")
        if not math.isfinite(self.history_mb) or self.history_mb <= 0:
            raise UserError(f"--history-mb {self.history_mb} must be a positive number of megabytes")
        available = available_bytes()
        if self.history_mb * 2**20 * len(self.seeds) > available * 0.8:
            asked = self.history_mb * len(self.seeds) / 1024
            raise UserError(f"--history-mb {self.history_mb:g} asks for {asked:.1f} GB of history "
                            f"({len(self.seeds)} seed(s)), and this machine has "
                            f"{available / 2**30:.1f} GB available; give a smaller --history-mb")

    @property
    def seed(self) -> int:
        return self.seeds[0]

    @property
    def start_step(self) -> int:
        """The first step: 0, or a branch's step (its steps continue the parent's numbering)."""
        return 0 if self.at is None else self.at

    @property
    def total_steps(self) -> int:
        """The last step: `steps` after the start."""
        return self.start_step + self.steps

    @property
    def sizes(self) -> list[int]:
        return [INPUTS, *self.layers, OUTPUTS]

    def with_seed(self, seed: int) -> TrainConfig:
        return replace(self, seeds=(seed,))

    def as_meta(self) -> dict:
        meta = asdict(self)
        for key in ("seeds", "parent", "at"):  # a branch's parent is written by the trainer, with its sha256
            meta.pop(key)
        meta["layers"] = self.sizes
        meta["seed"] = self.seed
        meta["switches"] = [[step, spec] for step, spec in self.switches]
        return meta


# What `--ginn` sets: the original GINN's setup (Darlow & Storkey 2018), with gin.png as the image.
GINN = {"head": "softmax2", "threshold": "white", "steps": 1_280_000, "schedule": "cosine", "batch_size": 128,
        "lr": 1e-3, "snapshots": "ginn"}


def check_layers(widths: tuple[int, ...]) -> None:
    shown = ",".join(map(str, widths))
    if not widths or min(widths) < 1:
        raise UserError(f"--layers {shown!r} needs at least one hidden layer of width >= 1; "
                        "use for example --layers 16,16,16")
    if len(widths) > MAX_HIDDEN_LAYERS or max(widths) > MAX_WIDTH:
        raise UserError(f"--layers {shown!r} is too large; use at most {MAX_HIDDEN_LAYERS} "
                        f"hidden layers of at most {MAX_WIDTH} neurons")


def check_seeds(seeds: tuple[int, ...]) -> None:
    if not seeds:
        raise UserError("--seeds is empty; use for example --seeds 0,1,2,3")
    if len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds {','.join(map(str, seeds))} repeats a seed; list each seed once")
    if min(seeds) < 0 or max(seeds) > MAX_SEED:
        bad = min(seeds) if min(seeds) < 0 else max(seeds)
        raise UserError(f"seed {bad} is out of range; use seeds from 0 to {MAX_SEED} (2^64 - 1)")


INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() would also take 1_000 and other scripts' digits


def parse_int_list(option: str, text: str, example: str) -> tuple[int, ...]:
    """`16,16,16` -> (16, 16, 16); anything else (an empty item, 1_000, other digits) is a one-line error
    naming `option` and the accepted form."""
    parts = [part.strip() for part in text.split(",")]
    if not all(INTEGER.fullmatch(part) for part in parts):
        raise UserError(f"{option} {text!r} is not a comma list of whole numbers (digits 0-9, no empty items); use "
                        f"for example {option} {example}")
    return tuple(int(part) for part in parts)
