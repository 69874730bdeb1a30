"""The live window: the network view on the left, the ImGui panel on the right. Training runs in
its worker thread at the settings' pace; the window only reads the history.

One frame, always in this order (the GUI is built before anything is drawn):
poll events; keys, clicks and wheel notches edit the settings (every one that arrived); resolve the
snapshot from the settings and build the panel (its widgets edit the settings); resolve again, so
the view shows what the panel left; draw the view (progressively on a CPU rasteriser) and the
panel; carry out requests (screenshot, restart, quit); swap; log the frame; sleep to the next one
(the main thread never spins: it would starve training).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Hashable
from dataclasses import replace
from pathlib import Path

import numpy as np
from imgui_bundle import imgui

from ginn_gl.core.history import Snapshot
from ginn_gl.core.pace import DEFAULT_PACE
from ginn_gl.core.progress import TrainingRun
from ginn_gl.core.targets import extent
from ginn_gl.core.view import ViewSettings
from ginn_gl.render.context import software_renderer
from ginn_gl.render.renderer import Blit, OffscreenTarget
from ginn_gl.ui.controls import Settings, dispatch
from ginn_gl.ui.diagram import THUMBNAIL
from ginn_gl.ui.experiments import Experiments
from ginn_gl.ui.framelog import FrameLog
from ginn_gl.ui.gallery import Gallery
from ginn_gl.ui.grid import Grid, weights_key
from ginn_gl.ui.hover import Hover
from ginn_gl.ui.imgui_renderer import ImGuiRenderer
from ginn_gl.ui.overlays import Notices, build_confirm, build_help, view_badge
from ginn_gl.ui.panel import Panel, PanelInput
from ginn_gl.ui.session import Session
from ginn_gl.ui.window import Input, Window

PANEL_WIDTH = 470.0
IDLE_FPS = 5.0  # frames per second while nothing moves; input wakes the window at once
ACTIVE_SECONDS = 1.5  # after the last input, frames stay at the full rate this long
SOFTWARE_DUTY = 4.0  # a CPU rasteriser beside training at full speed: a frame at most every 4 frame-times
WHEEL_ZOOM = 1.2  # per wheel notch


def smooth(previous: float, value: float, weight: float = 0.1) -> float:
    return value if previous == 0.0 else previous + weight * (value - previous)


class App:
    def __init__(self, session: Session, *, title: str, saves_on_close: bool = False, fps: float = 60.0,
                 size: tuple[int, int] = (1600, 900), frame_log: Path | None = None, frame_log_overwrite: bool = False):
        self.title = title
        self.saves_on_close = saves_on_close
        self.fps = fps
        self.window = Window(*size, title)
        try:  # after the window: a window that cannot open leaves the log's place as it was
            self.frame_log = FrameLog(frame_log, frame_log_overwrite) if frame_log else None
        except BaseException:
            self.window.destroy()
            raise
        self.closed = False
        self.ctx = self.window.ctx
        self.software = software_renderer(self.ctx)
        self.ui = ImGuiRenderer(self.ctx)
        self.blit = Blit(self.ctx)
        side = int(THUMBNAIL * self.window.ui_scale * self.window.size.scale)
        self.thumbnail = OffscreenTarget(self.ctx, side, side)  # a hovered neuron's activation, per pixel
        self.ui.textures[self.thumbnail.texture.glo] = self.thumbnail.texture  # ImGui draws it by its GL name
        self._thumbnail_key: Hashable = None
        self._frame_work = 0.0  # seconds the last frame took, swap included
        self.frame_ms = 0.0
        self.view_ms = 0.0
        self.frames = 0
        self.serial = 0  # bumped on restart: the renderer's weight key tells runs apart
        self.last_screenshot: Path | None = None
        self.captured: np.ndarray | None = None
        self._shot = np.zeros((1, 1, 3), np.uint8)  # the pixels S or Shift+S saves, read in the frame it asks
        self.view_rect = (0, 0, 1, 1)  # x, y (bottom left), w, h in framebuffer pixels
        self.snapshot: Snapshot | None = None  # what the view shows
        self.help_rect: tuple[float, float, float, float] | None = None
        self.notices = Notices()
        self.experiments = Experiments(self)
        self.gallery = Gallery(self.ctx, self.ui)
        self.experiments.setup.thumbnails = self.gallery.textures
        self.hover = Hover()  # the exact region under the pointer
        self._last_time = self._frame_started = time.perf_counter()
        self.session = session
        pace = session.trainer.progress().pace if session.trainer is not None else DEFAULT_PACE
        self.settings = Settings(sizes=session.primary.sizes, pace=pace)
        self.grid: Grid
        self.panel: Panel
        self.rebuild()

    def rebuild(self) -> None:
        """The grid (and the panel, for a network of another shape) for the session's runs as they are now."""
        if self.serial:
            self.grid.release()
        session = self.session
        self.serial += 1  # the renderers' weight keys tell the new cells apart
        self.grid = Grid(self.ctx, self.blit, self.window.finish, self.software, session.tracks, session.lead)
        primary = session.primary
        if self.serial == 1 or self.panel.sizes != primary.sizes:
            self.settings = replace(self.settings, sizes=primary.sizes)
            self.panel = Panel(sizes=primary.sizes, width=PANEL_WIDTH * self.window.ui_scale,
                               seed_text=str(primary.seed))
        view = self.settings.view
        data = extent(primary.target.shape)
        if view.extent != data:  # a picture of other proportions: the view frames it whole
            view.extent = data
            view.reset_domain()

    @property
    def confirm_restart(self) -> bool:
        """A question is asked before a finished run is discarded."""
        return self.experiments.question is not None

    @property
    def renderer(self):
        """The focused cell's renderer (the diagram's thumbnails use it)."""
        return self.grid.renderer(self.grid.cells[self.grid.focus])

    # ---- the loop -----------------------------------------------------------------------------

    def run(self) -> int:
        try:
            while not self.settings.quit_requested and not self.window.should_close:
                self.frame()
                self.wait_for_next_frame()
        except KeyboardInterrupt:
            pass  # Ctrl+C in the terminal closes like the window's close button
        return 0

    @property
    def trainer(self) -> TrainingRun | None:
        """The selected run's trainer: the run of the cell the panel follows."""
        return self.session.entry_of(self.grid.focus).trainer

    @property
    def training(self) -> bool:
        trainer = self.trainer
        return trainer is not None and not trainer.done

    @property
    def active(self) -> bool:
        """Something moves (input, autoplay, live training, refinement): frames at the full rate."""
        s = self.settings
        return (s.playing or (self.training and s.follow_live) or not self.grid.complete
                or time.perf_counter() - self.window.last_input < ACTIVE_SECONDS)

    def _duty(self) -> float:
        """Seconds a frame must leave to training: on a CPU rasteriser, while training runs flat out
        (not waiting for its pace), the frames take at most one core-time in SOFTWARE_DUTY."""
        trainer = self.trainer
        if trainer is None or not (self.software and self.training) or trainer.progress().keeping_pace:
            return 0.0
        return SOFTWARE_DUTY * self._frame_work

    def wait_for_next_frame(self) -> None:
        """The frame limiter. Sleeping (not spinning) leaves the GIL and the CPU to training; a key,
        click or wheel notch starts the next frame at once (after the duty, if any)."""
        period = 1.0 / (self.fps if self.active else min(self.fps, IDLE_FPS))
        duty = self._duty()
        earliest = self._frame_started + duty
        if earliest > time.perf_counter():
            time.sleep(earliest - time.perf_counter())
        self.window.wait(self._frame_started + max(period, duty) - time.perf_counter())

    def frame(self, capture: bool = False) -> None:
        started = self._frame_started = time.perf_counter()
        dt, self._last_time = started - self._last_time, started
        arrived = self.window.begin_frame()
        size = self.window.size
        track = self.grid.cells[self.grid.focus].track  # the maximised cell, or the first
        settings, history = self.settings, track.history
        settings.training = self.training
        panel_x = max(0.0, size.width - self.panel.width)
        area = max(1, int(round(panel_x * size.scale)))
        side = max(1, min(area, size.fb_height))
        self.view_rect = ((area - side) // 2, (size.fb_height - side) // 2, side, side)
        self.grid.layout(area, size.fb_height, size.scale, size.height)
        handled = self._keys(arrived)
        self._pointer(arrived)
        if arrived.dropped:
            self.experiments.drop(arrived.dropped)
        settings.advance(dt)
        for entry in self.session.entries:  # one pace for every run the window trains
            if entry.training and entry.trainer is not None and entry.trainer.progress().pace != settings.pace:
                entry.trainer.set_pace(settings.pace)
        trainer = self.trainer
        shown = settings.resolve(history, self.training)
        self.experiments.frame()
        selected = self.experiments.selected()
        data = PanelInput(history=history, snapshot=shown, activation=track.activation,
                          trainer=trainer, seed=track.seed, device=self.session.device,
                          frame_ms=self.frame_ms, view_ms=self.view_ms, view_scale=self.view_scale, title=self.title,
                          view_path=self.renderer.path, thumbnail=self.thumbnail.texture.glo,
                          tracks=self.session.tracks, setup=self.experiments.setup, setup_base=selected.config,
                          can_branch=selected.config is not None and shown is not None,
                          command=self.experiments.command, where=selected.where(),
                          target_steps=history.record().target_steps)
        actions = self.panel.build(settings, data, panel_x, float(size.height))
        # Setup's buttons ask as their keys do: carried out after this frame is drawn, before the next lays out.
        settings.start_requested = actions.start or settings.start_requested
        settings.branch_requested |= actions.branch
        settings.copy_requested |= actions.copy
        settings.paint_requested |= actions.paint
        self.help_rect = None
        if settings.show_help:
            self.help_rect = build_help(self.view_rect[0] / size.scale + 20, 20,
                                        min(560.0 * self.window.ui_scale, panel_x - 40))
        question = self.experiments.question
        if question is not None:
            answer = build_confirm(panel_x / 2, size.height / 2, question.text)
            if answer is not None:
                self.experiments.answer(answer)
        if settings.painting:
            self.experiments.brush_overlay(arrived.cursor)
        self.snapshot = settings.resolve(history, self.training)  # the panel's widgets may have moved it
        self._resolve_cells()
        self.grid.labels(len(self.grid.cells) > 1)
        if settings.painting:  # the brush's circle is what the pointer shows while painting
            self.hover.facts = self.hover.outline = None
        else:
            self.hover.build(self.grid, settings.view, self.serial, self._over_view, size.scale, size.height)
        if shown is not None and self.snapshot is not None and shown.step != self.snapshot.step:
            view_badge(self.view_rect[0] / size.scale, f"view: step {self.snapshot.step:,}")
        self.notices.add(started, settings.notices)
        self.notices.build(started, self.view_rect[0] / size.scale, float(size.height))
        imgui.render()

        self.ctx.screen.use()
        self.ctx.scissor = None
        self.ctx.viewport = (0, 0, size.fb_width, size.fb_height)
        self.ctx.clear(0.06, 0.06, 0.08)
        drawn = self.grid.draw(settings.view, self.serial, whole=settings.screenshot_requested)  # no half-drawn PNG
        if self.snapshot is not None:
            self._draw_thumbnail(self.panel.probe)
        self.ctx.screen.use()
        self.grid.present()
        if settings.screenshot_requested and not settings.screenshot_whole_window:
            self._shot = self.window.read(self.grid.area())  # S: the view alone, before any overlay is drawn
        if drawn is not None and drawn.seconds is not None:
            self.view_ms = smooth(self.view_ms, drawn.seconds * 1000)
        self.ui.render(imgui.get_draw_data(), (size.fb_width, size.fb_height))
        if settings.screenshot_requested and settings.screenshot_whole_window:
            self._shot = self.window.read((0, 0, size.fb_width, size.fb_height))  # Shift+S: panel included
        if capture:
            self.captured = self.window.read(self.view_rect)
            self.captured_cells = [self.window.read((*cell.rect, cell.rect[2])) for cell in self.grid.visible]
        self._carry_out_requests()
        self.window.swap()
        self._log(drawn, handled)
        self._frame_work = time.perf_counter() - started
        self.frames += 1
        self.frame_ms = smooth(self.frame_ms, self._frame_work * 1000)

    def _resolve_cells(self) -> None:
        """Each cell's snapshot: the focused cell's is the slider's, the others their newest at or before
        its step (their own newest while following live); and its target: the version in force at that
        step, or while following live a target being painted, at once."""
        focus, shown = self.grid.focus, self.snapshot
        step = None if self.settings.follow_live or shown is None else shown.step
        for index, cell in enumerate(self.grid.cells):
            cell.snapshot = shown if index == focus else cell.track.history.read(step)
            entry = self.session.entry_of(index)
            if entry.draft is not None and self.settings.follow_live:
                cell.target_key, cell.target = ("draft", id(entry), entry.draft_version), entry.draft
            elif cell.snapshot is not None:
                version, pixels = cell.track.history.target_at(cell.snapshot.step)
                # A run's seeds share its versions (and a renderer): one key for them, so none uploads again.
                cell.target_key, cell.target = (id(entry), version), pixels

    @property
    def view_scale(self) -> float:
        return min(cell.pane.scale for cell in self.grid.visible)

    def _log(self, drawn, keys: list[str]) -> None:
        if self.frame_log is None:
            return
        shown = self.snapshot
        noted = self.frame_log.problem
        self.frame_log.write(t=time.time(), step=None if shown is None else shown.step,
                             newest=self.session.primary.history.latest_step(), training=self.training,
                             scale=round(self.view_scale, 4),
                             view_ms=None if drawn is None or drawn.seconds is None else round(drawn.seconds * 1e3, 3),
                             keys=keys, following=self.settings.follow_live, frame_ms=round(self.frame_ms, 2))
        if self.frame_log.problem and not noted:
            self.settings.notify(self.frame_log.problem)

    def _draw_thumbnail(self, neuron: int | None) -> None:
        """The hovered diagram node's activation over the view, each pixel evaluated (not scaled down)."""
        key = (self.renderer.weights_key, neuron, self.settings.view.domain)
        if neuron is None or key == self._thumbnail_key or self.snapshot is None:
            return
        probe = ViewSettings(self.session.primary.sizes, shown=np.zeros(len(self.settings.view.shown), bool),
                             domain=self.settings.view.domain, probe=neuron)
        self.renderer.set_weights(self.snapshot.weights, key=weights_key(self.serial, self.grid.focus,
                                                                          self.snapshot.step))
        with self.thumbnail:
            self.renderer.draw((0, 0, *self.thumbnail.size), probe)
        self._thumbnail_key = key

    @property
    def view_settled(self) -> bool:
        """The view shows the current snapshot and settings at full resolution, in every cell."""
        return self.grid.complete

    @property
    def pane(self):
        """The focused cell's pane."""
        return self.grid.cells[self.grid.focus].pane

    # ---- input -------------------------------------------------------------------------------

    def _keys(self, arrived: Input) -> list[str]:
        """Every key that arrived, through the keymap; returns the names of those handled."""
        if imgui.get_io().want_text_input:  # keys typed into a panel field go to the field
            return []
        handled = []
        for key in arrived.keys:
            if self.experiments.question is not None:  # the question takes the keys: Enter / Y, Esc / N
                if key.name in ("ENTER", "KP_ENTER", "Y", "ESCAPE", "N"):
                    self.experiments.answer(key.name in ("ENTER", "KP_ENTER", "Y"))
                    handled.append(key.name)
            elif dispatch(self.settings, key.name, key.shift, key.repeated, key.ctrl):
                handled.append(key.name)
        return handled

    def _over_view(self, x: float, y: float) -> bool:
        if self.help_rect is not None:
            hx, hy, hw, hh = self.help_rect
            if hx <= x < hx + hw and hy <= y < hy + hh:
                return False
        return self.view_point(x, y) is not None

    def _pointer(self, arrived: Input) -> None:
        """Wheel notches zoom about the pointer, a double-click resets, a drag from a cell pans every
        cell; a click on a cell's label maximises it and back."""
        view = self.settings.view
        if self.settings.painting:
            self.experiments.paint(arrived)
        for event in arrived.pointer:
            if event.kind == "wheel" and self.settings.painting and arrived.shift:  # Shift+wheel sizes the brush
                for _ in range(int(abs(event.amount))):
                    self.settings.larger_brush() if event.amount > 0 else self.settings.smaller_brush()
                continue
            if event.kind == "click" and len(self.grid.cells) > 1:
                index = self.grid.label_at(event.x, event.y)
                if index is not None:
                    self.grid.toggle_maximised(index)
                continue
            if not self._over_view(event.x, event.y):
                continue
            point = self.view_point(event.x, event.y)
            if event.kind == "wheel" and point is not None:
                view.zoom_about(point, WHEEL_ZOOM ** event.amount)
            elif event.kind == "double":
                view.reset_domain()
        if arrived.drag is not None and not self.settings.painting:  # painting: the left button paints, not pans
            x, y, dx, dy = arrived.drag
            cell = self.grid.cell_at(x, y, self.window.size.scale, self.window.size.height)
            if (dx or dy) and cell is not None and self._over_view(x, y):
                side_in_window = cell.rect[2] / self.window.size.scale
                x0, y0, x1, y1 = view.domain
                view.pan(-dx / side_in_window * (x1 - x0), -dy / side_in_window * (y1 - y0))

    def view_point(self, mouse_x: float, mouse_y: float) -> tuple[float, float] | None:
        """Input-plane point under a mouse position (window coordinates), or None off every cell."""
        size = self.window.size
        cell = self.grid.cell_at(mouse_x, mouse_y, size.scale, size.height)
        if cell is None:
            return None
        x, y, side = cell.rect
        fb_x = mouse_x * size.scale - x
        fb_y = (size.height - mouse_y) * size.scale - y  # from the bottom, as GL counts
        x0, y0, x1, y1 = self.settings.view.domain
        return (x0 + (x1 - x0) * fb_x / side, y0 + (y1 - y0) * (1 - fb_y / side))

    def cycle_maximised(self) -> None:
        """The next cell alone, then the next, ..., then all again (Tab)."""
        grid = self.grid
        grid.maximised = None if grid.maximised == len(grid.cells) - 1 or len(grid.cells) == 1 else \
            (0 if grid.maximised is None else grid.maximised + 1)

    # ---- requests ------------------------------------------------------------------------------

    def _carry_out_requests(self) -> None:
        settings = self.settings
        if settings.screenshot_requested:
            settings.screenshot_requested = False
            try:
                self.last_screenshot = self.window.screenshot(self._shot)
            except OSError as exc:
                note = f"no screenshot: cannot write under screenshots/ ({exc.strerror or exc})"
                print(f"ginn-gl: {note}", file=sys.stderr, flush=True)
            else:
                note = f"saved {self.last_screenshot}"
                print(f"screenshot saved to {self.last_screenshot}", flush=True)
            settings.notify(note)
        if settings.cycle_requested:
            settings.cycle_requested = False
            self.cycle_maximised()
        if settings.pause_requested:
            settings.pause_requested = False
            trainer = self.session.trainer
            if trainer is not None and not trainer.done:
                paused = trainer.progress().pause_asked
                trainer.resume() if paused else trainer.pause()
                settings.notify("training resumed" if paused else "training paused: Space resumes it")
        if settings.restart_requested:
            settings.restart_requested = False
            self.experiments.restart(self.session.entry_of(self.grid.focus).tracks[0].seed
                                     if settings.restart_seed is None else settings.restart_seed)
        if settings.start_requested is not None:
            self.experiments.start(settings.start_requested == "instead")
            settings.start_requested = None
        if settings.branch_requested:
            settings.branch_requested = False
            self.experiments.branch()
        if settings.copy_requested:
            settings.copy_requested = False
            self.experiments.copy()
        if settings.paint_requested:
            settings.paint_requested = False
            self.experiments.toggle_painting()

    # ---- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the window at once; the caller ends the training run (Trainer.finish)."""
        if self.closed:
            return
        self.closed = True
        if self.frame_log is not None:
            self.frame_log.close()
        self.ui.textures.pop(self.thumbnail.texture.glo, None)
        self.thumbnail.release()
        self.ui.release()
        self.grid.release()
        self.blit.release()
        self.window.destroy()
