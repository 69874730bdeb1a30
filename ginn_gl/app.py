"""The live window: a glfw window with the network view on the left and the ImGui panel on the
right. Training runs in its worker thread; the window only reads the history.

One frame, always in this order: poll events, build the panel (keys and widgets edit the
settings), take the snapshot to show, upload it if it changed, draw the view, draw the panel,
swap, then sleep to the frame limit (the main thread never spins: it would starve training).
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# isort: off
import imgui_bundle  # first: it points pyglfw at its own libglfw, so both use one GLFW
import glfw
# isort: on
import moderngl
import numpy as np
from imgui_bundle import imgui, implot

from ginn_gl.config import TrainConfig
from ginn_gl.errors import UserError
from ginn_gl.history import History
from ginn_gl.imgui_renderer import ImGuiRenderer
from ginn_gl.panel import Panel, PanelInput, build_help
from ginn_gl.renderer import Blit, NetworkRenderer, ViewOptions, software_renderer
from ginn_gl.runfile import Run, save_run
from ginn_gl.targets import Target
from ginn_gl.viewstate import Settings

NO_DISPLAY = ("no display to open a window on ({why}); train headlessly with `ginn-gl train`, "
              "then draw the run with `ginn-gl render` or `ginn-gl export`")
PANEL_WIDTH = 470.0
IDLE_FPS = 5.0  # frames per second while nobody touches the window
ACTIVE_SECONDS = 1.5  # after the last input, frames stay at the full rate this long
VIEW_DUTY = 4.0  # a change of snapshot alone is drawn at most every 4 view-render times
SOFTWARE_DUTY = 3.0  # on a CPU rasteriser a frame starts at most every 3 frame-times
FONT = Path(imgui_bundle.__file__).resolve().parent / "assets" / "fonts" / "DroidSans.ttf"


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
    trainer: object | None = None  # Trainer while training
    config: TrainConfig | None = None


@dataclass(frozen=True)
class WindowSize:
    """The framebuffer's size in pixels and the window's in screen units (they differ on HiDPI)."""

    fb_width: int
    fb_height: int
    width: int
    height: int

    @property
    def scale(self) -> float:
        """Framebuffer pixels per window unit."""
        return self.fb_width / self.width if self.width else 1.0


def window_size(window) -> WindowSize:
    return WindowSize(*glfw.get_framebuffer_size(window), *glfw.get_window_size(window))


def check_display() -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or
                                                 os.environ.get("WAYLAND_DISPLAY")):
        raise UserError(NO_DISPLAY.format(why="DISPLAY and WAYLAND_DISPLAY are unset"))


def open_window(width: int, height: int, title: str):
    check_display()
    # Training takes all cores but one; a CPU rasteriser (Mesa llvmpipe) gets the one left.
    os.environ.setdefault("LP_NUM_THREADS", "1")
    glfw.ERROR_REPORTING = "ignore"  # failures are checked through return values below
    if not glfw.init():
        description = glfw.get_error()[1] if hasattr(glfw, "get_error") else None
        reason = description.decode() if isinstance(description, bytes) else (description or "glfw could not start")
        raise UserError(NO_DISPLAY.format(why=reason))
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
    glfw.window_hint(glfw.SCALE_TO_MONITOR, True)
    window = None
    for major, minor in ((4, 3), (3, 3)):  # 4.3 brings compute shaders; macOS stops at 4.1
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, major)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, minor)
        window = glfw.create_window(width, height, title, None, None)
        if window:
            break
    if not window:
        glfw.terminate()
        raise UserError(NO_DISPLAY.format(why="no OpenGL 3.3 window could be created on this display"))
    glfw.make_context_current(window)
    glfw.swap_interval(1)
    return window


class App:
    def __init__(self, session: Session, *, title: str, save_path: Path | None = None,
                 fps: float = 60.0, size: tuple[int, int] = (1600, 900)):
        self.session = session
        self.title = title
        self.save_path = save_path
        self.fps = fps
        self.window = open_window(*size, title)
        try:
            self._setup()
        except BaseException:
            glfw.destroy_window(self.window)
            glfw.terminate()
            raise

    def _setup(self) -> None:
        self.ctx = moderngl.create_context(require=330)
        self.imgui_context = imgui.create_context()
        self.implot_context = implot.create_context()
        io = imgui.get_io()
        io.set_ini_filename(None)  # keep no imgui.ini next to the user's files
        io.config_flags &= ~imgui.ConfigFlags_.nav_enable_keyboard  # our keys, not ImGui navigation
        self.size = window_size(self.window)  # measured once a frame
        self.ui_scale = self._ui_scale()
        if FONT.exists():
            io.fonts.add_font_from_file_ttf(str(FONT), 15.0)
        style = imgui.get_style()
        style.scale_all_sizes(self.ui_scale)
        style.font_scale_dpi = self.ui_scale
        self._last_input = time.perf_counter()
        self._install_activity_callbacks()  # before ImGui's backend, which chains to them
        imgui.backends.glfw_init_for_opengl(ctypes.cast(self.window, ctypes.c_void_p).value, True)
        self.software = software_renderer(self.ctx)
        self._frame_work = 0.0  # seconds the last frame took, swap included
        self.ui = ImGuiRenderer(self.ctx)
        # glFinish through ctypes releases the GIL while the GPU (or llvmpipe) works; moderngl's
        # calls hold it, which would stall the training thread for the whole render.
        self._gl_finish = ctypes.CFUNCTYPE(None)(glfw.get_proc_address("glFinish"))
        self.blit = Blit(self.ctx)
        self.view_texture: moderngl.Texture | None = None
        self.view_fbo: moderngl.Framebuffer | None = None
        self.view_key: object = None  # what the view texture shows
        self._wanted_view_key: object = None  # what the settings ask it to show
        self._view_rendered_at = 0.0
        self.frame_ms = 0.0
        self.view_ms = 0.0
        self.frames = 0
        self.serial = 0  # bumped on restart: the renderer's weight key tells runs apart
        self.close_requested = False
        self.want_screenshot = False
        self.last_screenshot: Path | None = None
        self.captured: np.ndarray | None = None
        self.view_rect = (0, 0, 1, 1)  # x, y (bottom left), w, h in framebuffer pixels
        self._last_time = time.perf_counter()
        self._attach(self.session)

    def _install_activity_callbacks(self) -> None:
        def touched(*_args) -> None:
            self._last_input = time.perf_counter()

        self._callbacks = touched  # keep a reference: glfw holds only a C pointer
        glfw.set_cursor_pos_callback(self.window, touched)
        glfw.set_mouse_button_callback(self.window, touched)
        glfw.set_scroll_callback(self.window, touched)
        glfw.set_key_callback(self.window, touched)
        glfw.set_char_callback(self.window, touched)
        glfw.set_window_size_callback(self.window, touched)

    def _ui_scale(self) -> float:
        """The part of the monitor's DPI scale that the framebuffer scale does not already do."""
        content = glfw.get_window_content_scale(self.window)[0] or 1.0
        return max(1.0, content / self.size.scale)

    def _attach(self, session: Session) -> None:
        self.session = session
        self.serial += 1
        self.renderer = NetworkRenderer(self.ctx, session.sizes, session.activation)
        self.renderer.set_target(session.target)
        self.settings = Settings(sizes=session.sizes)
        self._panel_weights: np.ndarray | None = None
        self.panel = Panel(sizes=session.sizes, width=PANEL_WIDTH * self.ui_scale, seed_field=session.seed)

    # ---- the loop -----------------------------------------------------------------------------

    def run(self) -> int:
        try:
            while not self.close_requested and not glfw.window_should_close(self.window):
                self.frame()
                self.wait_for_next_frame()
        except KeyboardInterrupt:
            pass  # Ctrl+C in the terminal closes like the window's close button
        return 0

    @property
    def active(self) -> bool:
        """The user is doing something (or autoplay runs): frames at full rate."""
        return self.settings.playing or time.perf_counter() - self._last_input < ACTIVE_SECONDS

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
            glfw.wait_events_timeout(remaining)

    def frame(self, capture: bool = False) -> None:
        started = self._frame_started = time.perf_counter()
        dt = started - self._last_time
        self._last_time = started
        glfw.poll_events()
        self.size = size = window_size(self.window)
        imgui.backends.glfw_new_frame()
        imgui.new_frame()
        history = self.session.history
        trainer = self.session.trainer
        self._keys()
        self._mouse()
        self.settings.advance(dt, history, training=trainer is not None and not trainer.done)
        index = self.settings.current_index(history)
        snapshot_step = history.step_at(index) if index >= 0 else -1
        weights = None
        key = (self.serial, snapshot_step)
        if index >= 0 and key != self.renderer.weights_key:
            snapshot = history.get(index)
            weights = snapshot.weights
            self.renderer.set_weights(weights, key=(self.serial, snapshot.step))
        fb_width, fb_height, scale = size.fb_width, size.fb_height, size.scale
        panel_x = max(0.0, size.width - self.panel.width)
        data = PanelInput(history=history, index=index, weights=self._weights_for_panel(index, weights),
                          activation=self.session.activation, training=trainer, seed=self.session.seed,
                          device=self.session.device, frame_ms=self.frame_ms, view_ms=self.view_ms,
                          title=self.title, view_path=self.renderer.path)
        for action, argument in self.panel.build(self.settings, data, panel_x, float(size.height)):
            self._act(action, argument)
        area = max(1, int(round(panel_x * scale)))
        side = max(1, min(area, fb_height))
        self.view_rect = ((area - side) // 2, (fb_height - side) // 2, side, side)
        if self.settings.show_help:
            build_help(self.view_rect[0] / scale + 20, 20, min(560.0 * self.ui_scale, panel_x - 40))
        imgui.render()

        self.ctx.screen.use()
        self.ctx.scissor = None
        self.ctx.viewport = (0, 0, fb_width, fb_height)
        self.ctx.clear(0.06, 0.06, 0.08)
        if index >= 0:
            self._draw_view()
        self.ui.render(imgui.get_draw_data(), (fb_width, fb_height))
        if capture:
            raw = self.ctx.screen.read(viewport=self.view_rect, components=3, alignment=1)
            self.captured = np.frombuffer(raw, np.uint8).reshape(side, side, 3)[::-1].copy()
        if self.want_screenshot:
            self._screenshot(fb_width, fb_height)
        glfw.swap_buffers(self.window)
        self._frame_work = time.perf_counter() - started
        self.frames += 1
        self.frame_ms = smooth(self.frame_ms, (time.perf_counter() - started) * 1000)

    def _weights_for_panel(self, index: int, fresh: np.ndarray | None) -> np.ndarray | None:
        """The shown snapshot's parameters, for the diagram: fetched only when it changes."""
        if fresh is not None:
            self._panel_weights = fresh
        return self._panel_weights if index >= 0 else None

    # ---- the view ---------------------------------------------------------------------------

    def view_options(self) -> ViewOptions:
        s = self.settings
        return ViewOptions(view=s.view, domain=s.domain(), line_width=s.line_width,
                           highlight_width=max(3.5, 2.5 * s.line_width), output_boundary=s.output_boundary)

    def _draw_view(self) -> None:
        x, y, side, _ = self.view_rect
        options = self.view_options()
        s = self.settings
        key = (self.renderer.weights_key, options, s.shown.tobytes(), s.hovered, side)
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
            self.renderer.set_neurons(s.shown, s.hovered)
            self.view_fbo.use()
            self.renderer.draw((0, 0, side, side), options)
            self._gl_finish()
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
        scale = self.size.scale
        x, y, side, _ = self.view_rect
        fb_x = mouse_x * scale - x
        fb_y = (self.size.height - mouse_y) * scale - y  # from the bottom, as GL counts
        if not (0 <= fb_x < side and 0 <= fb_y < side):
            return None
        x0, y0, x1, y1 = self.settings.domain()
        return (x0 + (x1 - x0) * fb_x / side, y0 + (y1 - y0) * (1 - fb_y / side))

    # ---- input -------------------------------------------------------------------------------

    def _keys(self) -> None:
        io = imgui.get_io()
        if io.want_text_input:  # keys typed into an ImGui field go to the field
            return
        s, history = self.settings, self.session.history
        key = imgui.Key
        pressed = imgui.is_key_pressed
        if pressed(key.space, False):
            s.toggle_play(history)
        if pressed(key.equal) or pressed(key.keypad_add):
            s.faster()
        if pressed(key.minus) or pressed(key.keypad_subtract):
            s.slower()
        if pressed(key.left_arrow):
            s.step_by(-1, history)
        if pressed(key.right_arrow):
            s.step_by(1, history)
        if pressed(key.home, False):
            s.first(history)
        if pressed(key.end, False):
            s.go_live()
        if pressed(key.t, False):
            s.toggle_target_view()
        if pressed(key.e, False):
            s.toggle_error_view()
        for number in range(1, 10):
            if pressed(getattr(key, f"_{number}"), False) or pressed(getattr(key, f"keypad{number}"), False):
                s.toggle_layer(number - 1)
        if pressed(key.a, False):
            s.set_all(True)
        if pressed(key.n, False):
            s.set_all(False)
        if pressed(key.s, False):
            self.want_screenshot = True
        if pressed(key.r, False) and self.session.trainer is not None:
            self._act("restart", self.session.seed)
        if pressed(key.f1, False) or (pressed(key.slash, False) and io.key_shift):
            s.show_help = not s.show_help
        if pressed(key.escape, False) or pressed(key.q, False):
            self.close_requested = True

    def _mouse(self) -> None:
        io = imgui.get_io()
        if io.want_capture_mouse:  # over the panel or the help
            return
        mouse = io.mouse_pos
        point = self.view_point(mouse.x, mouse.y)
        s = self.settings
        if point is None:
            return
        if io.mouse_wheel:
            s.zoom_about(point, 1.2 ** io.mouse_wheel)
        if imgui.is_mouse_double_clicked(imgui.MouseButton_.left):
            s.reset_view()
        elif imgui.is_mouse_dragging(imgui.MouseButton_.left, 0.0):
            side_in_window = self.view_rect[2] / self.size.scale
            x0, y0, x1, y1 = s.domain()
            s.pan(-io.mouse_delta.x / side_in_window * (x1 - x0), -io.mouse_delta.y / side_in_window * (y1 - y0))

    # ---- actions ------------------------------------------------------------------------------

    def _act(self, action: str, argument: object) -> None:
        trainer = self.session.trainer
        if action == "pause" and trainer is not None:
            trainer.pause()
        elif action == "resume" and trainer is not None:
            trainer.resume()
        elif action == "restart" and self.session.config is not None:
            self.restart(int(argument))

    def restart(self, seed: int) -> None:
        """Stop the current training (its run is discarded) and train a fresh network."""
        from ginn_gl.trainer import Trainer

        old = self.session
        if old.trainer is not None:
            old.trainer.stop()
        config = old.config.with_seed(seed)
        trainer = Trainer(config, Target(config.image, old.target)).start()
        self.renderer.release()
        self._attach(Session(history=trainer.histories[0], target=old.target, sizes=old.sizes,
                             activation=old.activation, seed=seed, device=old.device, trainer=trainer,
                             config=config))

    def _screenshot(self, width: int, height: int) -> None:
        self.want_screenshot = False
        raw = self.ctx.screen.read(viewport=(0, 0, width, height), components=3, alignment=1)
        pixels = np.frombuffer(raw, np.uint8).reshape(height, width, 3)[::-1]
        folder = Path("screenshots")
        folder.mkdir(exist_ok=True)
        path = folder / f"ginn-gl-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')[:-3]}.png"
        from PIL import Image

        Image.fromarray(pixels).save(path)
        self.last_screenshot = path
        print(f"screenshot saved to {path}", flush=True)

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
        imgui.backends.glfw_shutdown()
        implot.destroy_context(self.implot_context)
        imgui.destroy_context(self.imgui_context)
        self.ctx.release()
        glfw.destroy_window(self.window)
        glfw.terminate()
        self.window = None


def live_session(config: TrainConfig, target: Target) -> Session:
    from ginn_gl.trainer import Trainer

    trainer = Trainer(config, target)
    return Session(history=trainer.histories[0], target=target.pixels, sizes=config.sizes,
                   activation=config.activation, seed=config.seed, device=f"training on {trainer.device}",
                   trainer=trainer, config=config)


def replay_session(run: Run) -> Session:
    history = History.from_arrays(run.steps, run.weights, run.snap_loss)
    history.losses.load(run.loss_steps, run.loss)
    return Session(history=history, target=run.target, sizes=run.layers, activation=run.activation,
                   seed=int(run.meta.get("seed", 0)), device=f"replay of {run.path}")

