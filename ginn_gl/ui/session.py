"""What the window holds: runs, each training (a trainer) or recorded (a file), with a cell per seed.

The window starts runs itself (Setup's Start, B's branch, R's restart) through a RunMaker the command
line gives it: the ui layer never imports the trainer. Every run the window trained is saved on close,
each to its own file; a run that leaves the grid to make room is kept until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.experiment import BranchPoint
from ginn_gl.core.history import History
from ginn_gl.core.progress import Saving, TrainingRun
from ginn_gl.core.runfile import Run, printable
from ginn_gl.core.targets import Target

MAX_CELLS = 9  # core.view.MAX_CELLS: a 3x3 grid


@dataclass
class Track:
    """One network the window shows: its history and what it was trained on."""

    history: History
    target: np.ndarray  # its first target version (later ones are in the history)
    sizes: list[int]
    activation: str
    seed: int
    label: str  # "seed 2", or the run file's name


@dataclass(eq=False)
class Entry:
    """A run in the window: a cell per seed; a training run has its trainer, its config and where it goes."""

    tracks: list[Track]
    trainer: TrainingRun | None = None
    config: TrainConfig | None = None
    saving: Saving | None = None  # where it is saved on close (None: --no-save, or a recorded run)
    parent: Entry | None = None  # a branch's parent: its file is the branch's --from
    draft: np.ndarray | None = None  # a target being painted, uint8 [H, W]: shown at once, trained from then
    draft_version: int = 0  # bumped by every stroke: the views redraw
    painted_from: int | None = None  # the step painting began (the command then names the run's file)
    saved: list[Path] = field(default_factory=list)  # where it was saved, once it was
    label: str = ""

    @property
    def training(self) -> bool:
        return self.trainer is not None and not self.trainer.done

    def where(self) -> str:
        """Where the run goes on close, for the status line."""
        if self.saved:
            return "saved to " + ", ".join(map(str, self.saved))
        if self.saving is None:
            return "not saved (--no-save)" if self.trainer is not None else "a recorded run"
        return "saved on close to " + ", ".join(map(str, self.saving.paths))


class RunMaker(Protocol):
    """What the window asks the command line for: a new training run (started by the window)."""

    def new(self, config: TrainConfig, target: Target | None = None, branch: BranchPoint | None = None,
            parent: Entry | None = None, replacing: Entry | None = None) -> Entry:
        """A run of `config` on `target` (None: the one config names), not started: a branch starts from
        `branch` (its `parent` entry's snapshot); `replacing`: the run it takes the place (and name) of."""
        ...

    @property
    def saves(self) -> bool: ...


@dataclass
class Session:
    """The runs the window shows, in grid order, and every run it is to save on close, in the order they
    were made (parents before their branches), those that left the grid to make room included."""

    entries: list[Entry]
    device: str
    maker: RunMaker | None = None  # None for recorded runs: nothing to start
    lead: int = 0  # the track whose snapshots the slider steps through: the longest (seeds train in step)
    runs: list[Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.runs = self.runs or list(self.entries)

    @property
    def tracks(self) -> list[Track]:
        return [track for entry in self.entries for track in entry.tracks]

    @property
    def primary(self) -> Track:
        """The track that navigation, the diagram and the neuron toggles follow unless a cell is maximised."""
        return self.tracks[self.lead]

    @property
    def trainer(self) -> TrainingRun | None:
        """The lead run's trainer (the first run's, as the command line started it)."""
        return self.entry_of(self.lead).trainer

    def entry_of(self, track_index: int) -> Entry:
        """The run that the grid's cell `track_index` belongs to."""
        for entry in self.entries:
            if track_index < len(entry.tracks):
                return entry
            track_index -= len(entry.tracks)
        raise IndexError(track_index)

    def first_track(self, entry: Entry) -> int:
        return self.tracks.index(entry.tracks[0])

    def add(self, entry: Entry, instead_of: Entry | None = None) -> None:
        """Show `entry` beside the others, or in `instead_of`'s place (which is discarded: not saved, as R does)."""
        if instead_of is not None:
            self.entries[self.entries.index(instead_of)] = entry
            self.runs.remove(instead_of)
        else:
            self.entries.append(entry)
        self.runs.append(entry)
        self.lead = min(self.lead, len(self.tracks) - 1)

    def make_room(self, cells: int) -> list[Entry]:
        """Room for `cells` more cells (MAX_CELLS in all): the oldest finished runs leave the grid (a training
        run's is still saved on close) and are returned. A grid with no finished run to give way is a
        UserError: nothing is lost silently."""
        gone: list[Entry] = []
        while len(self.tracks) + cells > MAX_CELLS:
            finished = [entry for entry in self.entries if entry.trainer is None or entry.trainer.done]
            if not finished or cells > MAX_CELLS:
                raise UserError(f"the grid is full ({MAX_CELLS} cells) and no run in it has finished; start this run "
                                "instead of the selected one, or wait for one to finish")
            self.entries.remove(finished[0])
            gone.append(finished[0])
        self.lead = min(self.lead, max(len(self.tracks) - 1, 0))
        return gone


def replay_session(runs: list[Run]) -> Session:
    """The window's session for recorded runs (of one target size: see load_side_by_side)."""
    entries = []
    for run in runs:
        history = History.from_arrays(run.steps, run.weights, run.snap_loss, (run.regions, run.density, run.status))
        history.losses.load(run.loss_steps, run.loss)
        for step, pixels in zip(run.target_steps, run.targets):
            history.add_target(int(step), pixels)
        seed = int(run.meta.get("seed", 0))
        label = f"seed {seed}" if len(runs) == 1 else printable(run.path.stem if run.path else f"seed {seed}")
        entries.append(Entry([Track(history, run.target, run.layers, run.activation, seed, label)], label=label))
    where = printable(runs[0].path) if len(runs) == 1 else f"{len(runs)} runs"
    longest = max(range(len(runs)), key=lambda k: (int(runs[k].steps[-1]), -k))  # the slider reaches every end
    return Session(entries, device=f"replay of {where}", lead=longest)
