"""Experiments in the window: start runs from Setup (beside the others, or instead of the selected one),
restart (R), branch from the shown snapshot (B), paint the target while it trains (P), take a dropped
file, and copy the command that trains the selected run from scratch (Ctrl+C).

The app calls in here from its frame; runs are made by the session's RunMaker (the command line's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from imgui_bundle import imgui

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.experiment import BranchPoint, command_line, reproduce_command
from ginn_gl.core.outputs import printable
from ginn_gl.core.progress import State
from ginn_gl.core.sources import load_target
from ginn_gl.core.targets import Target
from ginn_gl.ui.paint import paint_stroke
from ginn_gl.ui.session import Entry
from ginn_gl.ui.setup import SetupForm

if TYPE_CHECKING:
    from ginn_gl.ui.controls import Settings
    from ginn_gl.ui.grid import Grid
    from ginn_gl.ui.session import Session
    from ginn_gl.ui.window import Input, Window


class Host(Protocol):
    """What experiments need of the window's app (ui.app.App): its runs, its cells, its settings, its window."""

    session: Session
    grid: Grid
    settings: Settings
    window: Window

    def rebuild(self) -> None: ...

    def view_point(self, mouse_x: float, mouse_y: float) -> tuple[float, float] | None: ...

LEFT, RIGHT = 0, 1  # GLFW's mouse buttons: left paints white, right black


@dataclass
class Question:
    """A yes-or-no question the window asks before it discards a finished run."""

    text: str
    yes: Callable[[], None]


class Experiments:
    def __init__(self, app: Host):
        self.app = app
        self.setup = SetupForm()
        self.question: Question | None = None  # asked before a finished run is discarded
        self.command = ""  # the selected run's command, as the status line shows it
        self._command_entry: Entry | None = None  # whose command it is, and what it was made from
        self._command_key: Hashable = None
        self.stroke_sent: float | None = None  # when the last stroke went to its trainer (perf_counter)
        self.stroke_latency: float | None = None  # seconds from a stroke to its trainer taking it up
        self._loaded: Entry | None = None

    # ---- which run -----------------------------------------------------------------------------

    def selected(self) -> Entry:
        """The run of the cell the panel follows: a maximised one, else the first."""
        return self.app.session.entry_of(self.app.grid.focus)

    def frame(self) -> None:
        """Once a frame, before the panel: Setup follows the selected run, the command too."""
        entry = self.selected()
        if entry is not self._loaded and entry.config is not None:
            self.setup.load(entry.config, self.app.settings.pace)
            self._loaded = entry
        painted = entry.tracks[0].history.version if entry.painted_from is not None else None
        key = (entry.config, entry.saving, painted)
        if entry is not self._command_entry or key != self._command_key:  # the same each frame until these change
            self.command, self._command_entry, self._command_key = self._command(entry), entry, key
        trainer = entry.trainer
        taken = getattr(trainer, "painted_at", None)
        if self.stroke_sent is not None and taken is not None and taken >= self.stroke_sent:
            self.stroke_latency, self.stroke_sent = taken - self.stroke_sent, None

    # ---- starting runs ---------------------------------------------------------------------------

    def start(self, instead: bool) -> None:
        """Setup's Start: a new run beside the others, or instead of the selected one (a finished run asks)."""
        session, setup = self.app.session, self.setup
        old = self.selected()
        if session.maker is None or old.config is None:
            setup.note = "Nothing to start from a recorded run: Setup trains in a training window."
            return
        try:
            config, pace = setup.config(old.config)
            target = load_target(config.image, config.resolution, config.threshold)
        except UserError as exc:
            setup.error = str(exc)
            return
        if instead and old.trainer is not None and old.trainer.state is State.FINISHED:
            def instead_of_it() -> None:
                self._make(config, target, pace, old)

            self.question = Question(f"Start instead of {old.label}: its finished run is discarded, not saved.",
                                     instead_of_it)
            return
        self._make(config, target, pace, old if instead else None)

    def restart(self, seed: int) -> None:
        """R: the selected run trained again from its start (a fresh network, or a branch's branch point)
        from seed `seed`, on the target it began on; a finished run asks."""
        old = self.selected()
        if self.app.session.maker is None or old.config is None or old.trainer is None:
            return
        config = replace(old.config, seeds=tuple(range(seed, seed + len(old.config.seeds))))
        target, point = old.trainer.target, old.trainer.branch  # a window branch's parent file may not exist yet

        def again() -> None:
            self._make(config, target, self.app.settings.pace, old, point, old.parent)

        if old.trainer is not None and old.trainer.state is State.FINISHED:
            self.question = Question("Training has finished and the run is not saved yet"
                                     + (": it is saved when the window closes." if old.saving else " (--no-save).")
                                     + "\nRestarting discards it.", again)
        else:
            again()

    def branch(self) -> None:
        """B: a run from the shown snapshot's weights with Setup's settings, beside its parent, at its step."""
        app, setup = self.app, self.setup
        parent = self.selected()
        cell = app.grid.cells[app.grid.focus]
        snapshot = cell.snapshot
        if app.session.maker is None or parent.config is None or snapshot is None:
            setup.note = "Branching starts a run in a training window, from a run it trains."
            return
        try:
            config, pace = setup.config(parent.config)
            if (config.layers, config.activation) != (parent.config.layers, parent.config.activation):
                raise UserError("a branch keeps its parent's network: set Setup's layers and activation back to "
                                f"{','.join(map(str, parent.config.layers))} {parent.config.activation}")
            history = cell.track.history
            if config.image == parent.config.image:  # the same picture: as it was at that step, painted or not
                pixels = history.target_at(snapshot.step)[1]
                target = Target(config.image, pixels, "painted" if parent.painted_from is not None else "built-in")
            else:
                target = load_target(config.image, config.resolution, config.threshold)
        except UserError as exc:
            setup.error = str(exc)
            return
        file = parent.saving.paths[parent.tracks.index(cell.track)] if parent.saving else Path(parent.label)
        point = BranchPoint(file, snapshot.step, snapshot.weights.copy(), tuple(parent.config.layers),
                            parent.config.activation, target.pixels, "")
        config = replace(config, parent=str(file), at=snapshot.step, seeds=config.seeds)
        if self._make(config, target, pace, None, point, parent):
            app.settings.seek(snapshot.step)  # beside its parent, at the same step
            setup.note = (f"Branched at step {snapshot.step:,} of {parent.label}: a fresh Adam (the optimiser's "
                          "state is not in a run file).")

    def _make(self, config: TrainConfig, target: Target, pace: float | None, instead: Entry | None,
              branch: BranchPoint | None = None, parent: Entry | None = None) -> bool:
        app, session = self.app, self.app.session
        assert session.maker is not None
        try:
            gone = [] if instead is not None else session.make_room(len(config.seeds))
            entry = session.maker.new(config, target, branch, parent, instead)
        except UserError as exc:
            self.setup.error = str(exc)
            app.settings.notify(str(exc))
            return False
        session.add(entry, instead)
        if instead is not None and instead.trainer is not None:
            instead.trainer.finish(None, wait=False)  # discarded: its worker and its geometry helper end now
        assert entry.trainer is not None
        entry.trainer.set_pace(pace)
        app.settings.pace = pace
        entry.trainer.start()
        app.rebuild()
        for left in gone:
            app.settings.notify(f"{left.label} left the grid to make room; it is {left.where()}")
        self.setup.note = f"Started {entry.label}: {entry.where()}."
        return True

    def answer(self, yes: bool) -> None:
        question, self.question = self.question, None
        if yes and question is not None:
            question.yes()

    # ---- painting --------------------------------------------------------------------------------

    def toggle_painting(self) -> None:
        """P: paint mode on or off; on only where a run trains (a finished run's target is history)."""
        settings = self.app.settings
        if not settings.painting and not any(entry.training for entry in self.app.session.entries):
            settings.notify("P paints a run while it trains, and none trains here: Start in Setup or R trains one")
            return
        settings.set_painting(not settings.painting)

    def paint(self, arrived: Input) -> None:
        """Paint mode: every position the held button passed since the last frame, on the run under it."""
        app = self.app
        strokes: dict[tuple[int, int], list[tuple[float, float]]] = {}  # (entry id, button) -> plane points
        entries: dict[int, Entry] = {}
        for x, y, button in arrived.strokes:
            if button not in (LEFT, RIGHT) or imgui.get_io().want_capture_mouse:
                continue
            cell = app.grid.cell_at(x, y, app.window.size.scale, app.window.size.height)
            point = app.view_point(x, y)
            if cell is None or point is None:
                continue
            entry = app.session.entry_of(app.grid.cells.index(cell))
            if not entry.training:
                app.settings.notify("paint a run while it trains: this one has " +
                                    ("finished" if entry.trainer is not None else "no training"))
                continue
            entries[id(entry)] = entry
            strokes.setdefault((id(entry), button), []).append(point)
        for (key, button), points in strokes.items():
            entry = entries[key]
            history = entry.tracks[0].history
            if entry.draft is None:
                entry.draft = history.target_at(history.latest_step())[1].copy()
            if paint_stroke(entry.draft, points, app.settings.brush, 1 if button == LEFT else 0):
                entry.draft_version += 1
                if entry.painted_from is None:
                    entry.painted_from = history.latest_step()
                assert entry.trainer is not None and hasattr(entry.trainer, "set_target")
                entry.trainer.set_target(entry.draft)
                self.stroke_sent = time.perf_counter()

    def brush_overlay(self, cursor: tuple[float, float]) -> None:
        """The brush as a circle under the pointer, as large as it paints on the target."""
        app = self.app
        size = app.window.size
        cell = app.grid.cell_at(*cursor, size.scale, size.height)
        if cell is None:
            return
        shape = cell.track.target.shape
        long = max(shape[0], shape[1])
        x0, _, x1, _ = app.settings.view.domain
        radius = app.settings.brush / long / (x1 - x0) * cell.rect[2] / size.scale
        colour = imgui.get_color_u32(imgui.ImVec4(1.0, 0.85, 0.2, 0.9))
        imgui.get_foreground_draw_list().add_circle(cursor, radius, colour, 0, 1.5)

    # ---- a dropped file, the command -------------------------------------------------------------

    def drop(self, paths: list[str]) -> None:
        """A file dropped on the window becomes Setup's target (a picture, or a run file: its target)."""
        for path in paths[-1:]:
            spec = path
            try:
                load_target(spec, int(self.setup.text.get("resolution", "200") or 200),
                            self.setup.text.get("threshold", "mid"))
            except (UserError, ValueError) as exc:
                self.setup.error = f"the dropped file {printable(path)}: {exc}"
                self.app.settings.notify(self.setup.error)
                return
            self.setup.text["image"] = spec
            self.setup.error = ""
            self.setup.note = f"Setup's target is now {printable(Path(path).name)}: Start trains on it."
            self.app.settings.notify(self.setup.note)

    def _command(self, entry: Entry) -> str:
        if entry.config is None:
            return ""
        own = entry.saving.paths[0] if entry.saving else None
        painted: list[tuple[int, str]] = []
        if entry.painted_from is not None:
            versions = entry.tracks[0].history.record().target_steps
            switched = {step for step, _ in entry.config.switches}
            where = str(own) if own is not None else "(this run's file: save it to name it)"
            painted = [(int(step), f"{where}@{int(step)}") for step in versions[1:] if int(step) not in switched]
        words = reproduce_command(entry.config, out=None, painted=painted)
        return command_line(words)

    def copy(self) -> None:
        """Ctrl+C: the selected run's command on the clipboard, and in a note."""
        from ginn_gl.ui.window import glfw

        text = self._command(self.selected())
        if not text:
            self.app.settings.notify("a recorded run: `ginn-gl info RUN` shows what trained it")
            return
        glfw.set_clipboard_string(self.app.window.handle, text)
        self.app.settings.notify("copied: " + (text if len(text) < 120 else text[:117] + "..."))

