"""The live window: the network view on the left, the ImGui panel on the right. Training runs in
its worker thread; the window only reads the history.

One frame, always in this order (the GUI is built before anything is drawn):
poll events; keys and mouse edit the settings; build the panel (its widgets edit the settings);
resolve the snapshot to show from the settings; upload it if it changed and draw the view; render
the panel; carry out requests (screenshot, restart, quit); swap; then sleep to the frame limit
(the main thread never spins: it would starve training).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np
from imgui_bundle import imgui

from ginn_gl.core.history import History, Snapshot
from ginn_gl.core.runfile import Run, save_run
from ginn_gl.render.context import software_renderer
from ginn_gl.render.renderer import Blit, NetworkRenderer
from ginn_gl.ui.imgui_renderer import ImGuiRenderer
from ginn_gl.ui.panel import Panel, PanelInput, build_help
from ginn_gl.ui.viewstate import Settings, dispatch
from ginn_gl.ui.window import Window

PANEL_WIDTH = 470.0
IDLE_FPS = 5.0  # frames per second while nobody touches the window
ACTIVE_SECONDS = 1.5  # after the last input, frames stay at the full rate this long
VIEW_DUTY = 4.0  # a change of snapshot alone is drawn at most every 4 view-render times
SOFTWARE_DUTY = 3.0  # on a CPU rasteriser a frame starts at most every 3 frame-times


def smooth(previous: float, value: float, weight: float = 0.1) -> float:
    return value if previous == 0.0 else previous + weight * (value - previous)


@dataclass
class Session:
    """What the window shows: a training run (with its trainer) or a recorded one."""

    history: History
    target: np.ndarray
    sizes: list[int]
    activation: str
    seed: int
    device: str
    trainer: object | None = None  # the Trainer while training (pause, resume, stop, progress, runs)
    restart: Callable[[int], Session] | None = None  # a fresh training session for a seed


def replay_session(run: Run) -> Session:
    history = History.from_arrays(run.steps, run.weights, run.snap_loss)
    history.losses.load(run.loss_steps, run.loss)
    return Session(history=history, target=run.target, sizes=run.layers, activation=run.activation,
                   seed=int(run.meta.get("seed", 0)), device=f"replay of {run.path}")


class App:
    def __init__(self, session: Session, *, title: str, save_path: Path | None = None,
                 fps: float = 60.0, size: tuple[int, int] = (1600, 900)):
        self.title = title
        self.save_path = save_path
        self.fps = fps
        self.window = Window(*size, title)
        self.ctx = self.window.ctx
        self.software = software_renderer(self.ctx)
        self.ui = ImGuiRenderer(self.ctx)
        self.blit = Blit(self.ctx)
        self.view_texture: moderngl.Texture | None = None
        self.view_fbo: moderngl.Framebuffer | None = None
        self.view_key: object = None  # what the view texture shows
        self._wanted_view_key: object = None  # what the settings ask it to show
        self._view_rendered_at = 0.0
        self._frame_work = 0.0  # seconds the last frame took, swap included
        self.frame_ms = 0.0
        self.view_ms = 0.0
        self.frames = 0
        self.serial = 0  # bumped on restart: the renderer's weight key tells runs apart
        self.last_screenshot: Path | None = None
        self.captured: np.ndarray | None = None
        self.view_rect = (0, 0, 1, 1)  # x, y (bottom left), w, h in framebuffer pixels
        self.snapshot: Snapshot | None = None  # what the view shows
        self._last_time = self._frame_started = time.perf_counter()
        self._attach(session)

    def _attach(self, session: Session) -> None:
        self.session = session
        self.serial += 1
        self.renderer = NetworkRenderer(self.ctx, session.sizes, session.activation)
        self.renderer.set_target(session.target)
        self.settings = Settings(sizes=session.sizes)
        self.panel = Panel(sizes=session.sizes, width=PANEL_WIDTH * self.window.ui_scale, seed_field=session.seed)

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
    def training(self) -> bool:
        trainer = self.session.trainer
        return trainer is not None and not trainer.done

    @property
    def active(self) -> bool:
        """The user is doing something (or autoplay runs): frames at full rate."""
        return self.settings.playing or time.perf_counter() - self.window.last_input < ACTIVE_SECONDS

    def wait_for_next_frame(self) -> None:
        """The frame limiter. Sleeping (not spinning) leaves the GIL and the CPU to training; when
        idle the window drops to IDLE_FPS but wakes at once on input."""
        period = 1.0 / (self.fps if self.active else min(self.fps, IDLE_FPS))
        if self.software:  # a CPU rasteriser fills every pixel on a core training could use
            period = max(period, SOFTWARE_DUTY * self._frame_work)
        remaining = period - (time.perf_counter() - self._frame_started)
        if remaining <= 0:
            return
        if self.active:
            time.sleep(remaining)
        else:
            self.window.wait(remaining)

    def frame(self, capture: bool = False) -> None:
        started = self._frame_started = time.perf_counter()
        dt, self._last_time = started - self._last_time, started
        keys = self.window.begin_frame()
        size = self.window.size
        settings, history = self.settings, self.session.history
        if not imgui.get_io().want_text_input:  # keys typed into a panel field go to the field
            for key in keys:
                dispatch(settings, key.name, key.shift, key.repeated)
        panel_x = max(0.0, size.width - self.panel.width)
        area = max(1, int(round(panel_x * size.scale)))
        side = max(1, min(area, size.fb_height))
        self.view_rect = ((area - side) // 2, (size.fb_height - side) // 2, side, side)
        self._mouse()
        settings.advance(dt)
        shown = settings.resolve(history, self.training)
        data = PanelInput(history=history, snapshot=shown, activation=self.session.activation,
                          trainer=self.session.trainer, seed=self.session.seed, device=self.session.device,
                          frame_ms=self.frame_ms, view_ms=self.view_ms, title=self.title,
                          view_path=self.renderer.path)
        self.panel.build(settings, data, panel_x, float(size.height))
        if settings.show_help:
            build_help(self.view_rect[0] / size.scale + 20, 20, min(560.0 * self.window.ui_scale, panel_x - 40))
        imgui.render()
        self.snapshot = settings.resolve(history, self.training)  # the panel's widgets may have moved it

        self.ctx.screen.use()
        self.ctx.scissor = None
        self.ctx.viewport = (0, 0, size.fb_width, size.fb_height)
        self.ctx.clear(0.06, 0.06, 0.08)
        if self.snapshot is not None:
            self.renderer.set_weights(self.snapshot.weights, key=(self.serial, self.snapshot.step))
            self._draw_view()
        self.ui.render(imgui.get_draw_data(), (size.fb_width, size.fb_height))
        if capture:
            self.captured = self.window.read(self.view_rect)
        self._carry_out_requests()
        self.window.swap()
        self._frame_work = time.perf_counter() - started
        self.frames += 1
        self.frame_ms = smooth(self.frame_ms, self._frame_work * 1000)

    def _carry_out_requests(self) -> None:
        settings = self.settings
        if settings.screenshot_requested:
            settings.screenshot_requested = False
            self.last_screenshot = self.window.screenshot()
            print(f"screenshot saved to {self.last_screenshot}", flush=True)
        if settings.restart_requested:
            settings.restart_requested = False
            if self.session.restart is not None:
                self.restart(self.session.seed if settings.restart_seed is None else settings.restart_seed)

    # ---- the view ---------------------------------------------------------------------------

    def _draw_view(self) -> None:
        x, y, side, _ = self.view_rect
        view = self.settings.view
        key = (self.renderer.weights_key, view.key(), side)
        if self.view_texture is None or self.view_texture.size != (side, side):
            if self.view_fbo is not None:
                self.view_fbo.release()
                self.view_texture.release()
            self.view_texture = self.ctx.texture((side, side), 4)
            self.view_fbo = self.ctx.framebuffer(color_attachments=[self.view_texture])
            self.view_key = None
        self._wanted_view_key = key
        only_snapshot = self.view_key is not None and key[1:] == self.view_key[1:]
        throttle = max(1.0 / self.fps, VIEW_DUTY * self.view_ms / 1000.0)
        if only_snapshot and time.perf_counter() - self._view_rendered_at < throttle:
            # Another snapshot (live or scrubbed) waits its turn: on a CPU rasteriser, drawing every
            # one would take a whole core from training. On a GPU the wait is under a frame.
            key = self.view_key
        if key != self.view_key:  # re-render only when something changed: costly on a CPU rasteriser
            started = time.perf_counter()
            self.view_fbo.use()
            self.renderer.draw((0, 0, side, side), view)
            self.window.finish()
            self.view_ms = smooth(self.view_ms, (time.perf_counter() - started) * 1000)
            self.view_key = key
            self._view_rendered_at = time.perf_counter()
            self.ctx.screen.use()
        self.ctx.viewport = (x, y, side, side)
        self.blit.draw(self.view_texture, (x, y))

    @property
    def view_settled(self) -> bool:
        """The view shows what the settings ask for (no snapshot change is waiting its turn)."""
        return self.view_key is not None and self.view_key == self._wanted_view_key

    def view_point(self, mouse_x: float, mouse_y: float) -> tuple[float, float] | None:
        """Input-plane point under a mouse position (window coordinates), or None off the view."""
        size = self.window.size
        x, y, side, _ = self.view_rect
        fb_x = mouse_x * size.scale - x
        fb_y = (size.height - mouse_y) * size.scale - y  # from the bottom, as GL counts
        if not (0 <= fb_x < side and 0 <= fb_y < side):
            return None
        x0, y0, x1, y1 = self.settings.view.domain
        return (x0 + (x1 - x0) * fb_x / side, y0 + (y1 - y0) * (1 - fb_y / side))

    def _mouse(self) -> None:
        io = imgui.get_io()
        if io.want_capture_mouse:  # over the panel or the help
            return
        point = self.view_point(io.mouse_pos.x, io.mouse_pos.y)
        view = self.settings.view
        if point is None:
            return
        if io.mouse_wheel:
            view.zoom_about(point, 1.2 ** io.mouse_wheel)
        if imgui.is_mouse_double_clicked(imgui.MouseButton_.left):
            view.reset_domain()
        elif imgui.is_mouse_dragging(imgui.MouseButton_.left, 0.0):
            side_in_window = self.view_rect[2] / self.window.size.scale
            x0, y0, x1, y1 = view.domain
            view.pan(-io.mouse_delta.x / side_in_window * (x1 - x0), -io.mouse_delta.y / side_in_window * (y1 - y0))

    # ---- actions ------------------------------------------------------------------------------

    def restart(self, seed: int) -> None:
        """Stop the current training (its run is discarded) and train a fresh network."""
        old = self.session
        if old.trainer is not None:
            old.trainer.stop()
        fresh = old.restart(seed)
        fresh.trainer.start()
        self.renderer.release()
        self._attach(fresh)

    # ---- closing ------------------------------------------------------------------------------

    def close(self) -> list[Path]:
        """Stop training (within a second), save the run unless asked not to, close the window."""
        saved: list[Path] = []
        trainer = self.session.trainer
        try:
            if trainer is not None:
                trainer.stop(timeout=1.0)
                if self.save_path is not None:
                    saved = [save_run(self.save_path, run) for run in trainer.runs()[:1]]
        finally:
            self._destroy()
        if trainer is not None:
            trainer.join()  # a worker exception is raised here, after the run is saved
        return saved

    def _destroy(self) -> None:
        if self.window is None:
            return
        self.ui.release()
        self.blit.release()
        self.renderer.release()
        if self.view_fbo is not None:
            self.view_fbo.release()
            self.view_texture.release()
        self.window.destroy()
        self.window = None
