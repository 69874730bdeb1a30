"""Experiments on a run: where a branch starts (`--from RUN --at STEP`), and the one command line that
reproduces a run from scratch (the window's "copy the command").

Plain Python and numpy: the trainer, the window and the CLI all read runs and configs through here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.outputs import printable
from ginn_gl.core.runfile import load_run
from ginn_gl.core.targets import file_sha256

PROG = "ginn-gl"


@dataclass(frozen=True)
class BranchPoint:
    """A parent run's snapshot that a branch starts from: its weights, its network, its target then."""

    path: Path
    step: int
    weights: np.ndarray  # float32 [P]: the parent's snapshot at `step`, byte for byte
    layers: tuple[int, ...]  # hidden widths
    activation: str
    target: np.ndarray  # uint8 [H, W]: the parent's target version in force at `step`
    sha256: str  # of the parent's file

    def meta(self) -> dict[str, object]:
        """The branch's meta `parent` entry."""
        return {"run": self.path.name, "step": self.step, "sha256": self.sha256}


def branch_step(path: str, step: int) -> int:
    """The step a branch `--at step` starts from: the parent's snapshot in force then (the newest at or
    before it, as the window shows that step)."""
    run = load_run(path)
    return int(run.steps[run.in_force(step, "--at ")])


def branch_point(path: str, step: int) -> BranchPoint:
    """The snapshot of run `path` at exactly `step` (a recorded one: see branch_step)."""
    run = load_run(path)
    matches = np.flatnonzero(run.steps == step)
    if not len(matches):
        raise UserError(f"--at {step:,}: {printable(path)} has no snapshot at that step (see `{PROG} info`)")
    index = int(matches[0])
    return BranchPoint(Path(path), int(step), run.weights[index].copy(), tuple(run.layers[1:-1]), run.activation,
                       run.target_at(step).copy(), file_sha256(Path(path)))


def branch_defaults(path: str, step: int) -> dict[str, object]:
    """The training options a branch of run `path` at `step` takes unless told otherwise: its parent's
    network and options, its target in force at `step`, and the steps the parent had left (or as many)."""
    point = branch_point(path, step)
    run = load_run(path)
    meta = run.meta
    planned = int(run.steps[0]) + int(meta["steps"])
    options: dict[str, object] = {"layers": point.layers, "activation": point.activation, "image": f"{path}@{step}",
                                  "resolution": max(point.target.shape), "seeds": (int(meta["seed"]),),
                                  "steps": planned - step if planned > step else int(meta["steps"])}
    for key in ("head", "lr", "batch_size", "schedule", "snapshots", "threshold"):
        if key in meta:
            options[key] = meta[key]
    return options


def check_branch(config: TrainConfig, point: BranchPoint) -> None:
    """A branch keeps its parent's network: the same hidden layers and activation."""
    if tuple(config.layers) != point.layers or config.activation != point.activation:
        ours = f"{','.join(map(str, config.layers))} {config.activation}"
        theirs = f"{','.join(map(str, point.layers))} {point.activation}"
        raise UserError(f"--from {printable(point.path)} has layers {theirs}, not {ours}; a branch keeps its parent's "
                        "network: leave out --layers and --activation, or give the parent's")


# ---- the command that reproduces a run -----------------------------------------------------------

OPTIONS = {  # TrainConfig field -> its command-line option (the fields a command gives when not default)
    "image": "--image", "resolution": "--resolution", "threshold": "--threshold", "layers": "--layers",
    "activation": "--activation", "head": "--head", "lr": "--lr", "batch_size": "--batch-size",
    "schedule": "--schedule", "steps": "--steps", "snapshots": "--snapshots", "device": "--device",
    "history_mb": "--history-mb",
}


def option_text(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return repr(value)  # exact: the same float back
    return str(value)


def reproduce_command(config: TrainConfig, out: str | None = None,
                      painted: list[tuple[int, str]] | None = None) -> list[str]:
    """`ginn-gl train ...` for `config`: every option that differs from the defaults (seeds, switches, a
    branch's --from/--at included), then `painted` (step, RUN.npz@STEP) versions as --switch entries.
    The same weights on the CPU as the run it describes: the pace and the frame rate train nothing."""
    defaults = TrainConfig()
    words = [PROG, "train"]
    for name in (f.name for f in fields(TrainConfig)):
        value, default = getattr(config, name), getattr(defaults, name)
        if name in OPTIONS and value != default:
            words += [OPTIONS[name], option_text(value)]
    if config.seeds != defaults.seeds:
        words += ["--seed", str(config.seed)] if len(config.seeds) == 1 else ["--seeds", option_text(config.seeds)]
    if config.parent is not None:
        words += ["--from", config.parent, "--at", str(config.at)]
    for step, spec in [*config.switches, *(painted or [])]:
        words += ["--switch", f"{step}:{spec}"]
    if out is not None:
        words += ["--out", out]
    return words


def command_line(words: list[str]) -> str:
    """The words as one line a POSIX shell reads back the same."""
    return shlex.join(words)
