"""The platform: a glfw window with an OpenGL context, Dear ImGui's context and GLFW backend, the
window's sizes, its key events (queued, so none is lost between frames) and screenshots.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# isort: off
import imgui_bundle  # first: it points pyglfw at its own libglfw, so both use one GLFW
import glfw
# isort: on
import moderngl
import numpy as np
from imgui_bundle import imgui, implot

from ginn_gl.core.errors import UserError
from ginn_gl.core.outputs import free_name, write_atomically

NO_DISPLAY = ("no display to open a window on ({why}); train headlessly with `ginn-gl train`, "
              "then draw the run with `ginn-gl render` or `ginn-gl export`")
FONT = Path(imgui_bundle.__file__).resolve().parent / "assets" / "fonts" / "DroidSans.ttf"
# GLFW's key codes by name, as the keymap writes them ("RIGHT", "SPACE", "KP_ADD", "T").
KEY_NAMES = {getattr(glfw, name): name[4:] for name in dir(glfw)
             if name.startswith("KEY_") and name not in ("KEY_UNKNOWN", "KEY_LAST")}


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


DOUBLE_CLICK_SECONDS = 0.4  # two presses this close in time (and DOUBLE_CLICK_PIXELS in space)
DOUBLE_CLICK_PIXELS = 6.0


@dataclass(frozen=True)
class KeyEvent:
    name: str  # GLFW's name of the key
    shift: bool
    repeated: bool  # a held key's repeat, not a press
    ctrl: bool = False


@dataclass(frozen=True)
class PointerEvent:
    kind: str  # "wheel" (amount: notches, up positive), "click" (left press and release in one place),
    #            "double" (a double-click of the left button)
    x: float  # where, in window units from the top left
    y: float
    amount: float = 0.0


@dataclass
class Input:
    """What arrived since the last frame, in order: every event is handled in the next frame."""

    keys: list[KeyEvent]
    pointer: list[PointerEvent]
    drag: tuple[float, float, float, float] | None  # left button held: press x, y and the motion dx, dy
    strokes: list[tuple[float, float, int]] = field(default_factory=list)  # x, y, button held (paint): in order
    dropped: list[str] = field(default_factory=list)  # paths of files dropped on the window
    cursor: tuple[float, float] = (0.0, 0.0)
    shift: bool = False  # held now


def check_display() -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or
                                                 os.environ.get("WAYLAND_DISPLAY")):
        raise UserError(NO_DISPLAY.format(why="DISPLAY and WAYLAND_DISPLAY are unset"))


def _create(width: int, height: int, title: str):
    check_display()
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


class Window:
    """A glfw window with its GL context (moderngl) and Dear ImGui (with ImPlot) on it."""

    def __init__(self, width: int, height: int, title: str):
        self.handle = _create(width, height, title)
        try:
            self.ctx = moderngl.create_context(require=330)
            self._setup_imgui()
        except BaseException:
            glfw.destroy_window(self.handle)
            glfw.terminate()
            raise
        # glFinish through ctypes releases the GIL while the GPU (or llvmpipe) works; moderngl's
        # calls hold it, which would stall the training thread for the whole render.
        self.finish = ctypes.CFUNCTYPE(None)(glfw.get_proc_address("glFinish"))

    def _setup_imgui(self) -> None:
        self.imgui_context = imgui.create_context()
        self.implot_context = implot.create_context()
        io = imgui.get_io()
        io.set_ini_filename(None)  # keep no imgui.ini next to the user's files
        io.config_flags &= ~imgui.ConfigFlags_.nav_enable_keyboard  # our keys, not ImGui navigation
        self.size = self.measure()
        content = glfw.get_window_content_scale(self.handle)[0] or 1.0
        # The part of the monitor's DPI scale that the framebuffer scale does not already do.
        self.ui_scale = max(1.0, content / self.size.scale)
        if FONT.exists():
            io.fonts.add_font_from_file_ttf(str(FONT), 15.0)
        style = imgui.get_style()
        style.scale_all_sizes(self.ui_scale)
        style.font_scale_dpi = self.ui_scale
        self.last_input = time.perf_counter()
        self.pending = False  # a key, click or wheel notch arrived that the next frame must answer
        self.keys: list[KeyEvent] = []
        self.pointer: list[PointerEvent] = []
        self._press: tuple[float, float, float] | None = None  # the last left press: time, x, y
        self._held_from: tuple[float, float] | None = None  # where the held left button went down
        self._drag = [0.0, 0.0]
        self._cursor = (0.0, 0.0)
        self._buttons: set[int] = set()  # mouse buttons held now (left, right)
        self._shift = False
        self.strokes: list[tuple[float, float, int]] = []
        self.dropped: list[str] = []
        self._install_callbacks()  # before ImGui's backend, which chains to them
        imgui.backends.glfw_init_for_opengl(ctypes.cast(self.handle, ctypes.c_void_p).value, True)

    def _install_callbacks(self) -> None:
        def touched(*_args) -> None:
            self.last_input = time.perf_counter()

        def key(_window, code, _scancode, action, mods) -> None:
            touched()
            if code in (glfw.KEY_LEFT_SHIFT, glfw.KEY_RIGHT_SHIFT):
                self._shift = action != glfw.RELEASE
            if action in (glfw.PRESS, glfw.REPEAT) and code in KEY_NAMES:
                self.keys.append(KeyEvent(KEY_NAMES[code], bool(mods & glfw.MOD_SHIFT), action == glfw.REPEAT,
                                          bool(mods & glfw.MOD_CONTROL)))
                self.pending = True

        def cursor(_window, x, y) -> None:
            touched()
            if self._held_from is not None:
                self._drag[0] += x - self._cursor[0]
                self._drag[1] += y - self._cursor[1]
            self._cursor = (x, y)
            for which in self._buttons:  # a paint stroke: every position, in order
                self.strokes.append((x, y, which))
                self.pending = True

        def button(_window, which, action, _mods) -> None:
            touched()
            if which in (glfw.MOUSE_BUTTON_LEFT, glfw.MOUSE_BUTTON_RIGHT):
                if action == glfw.PRESS:
                    self._buttons.add(which)
                    self.strokes.append((*self._cursor, which))
                else:
                    self._buttons.discard(which)
                self.pending = True
            if which != glfw.MOUSE_BUTTON_LEFT:
                return
            self.pending = True
            x, y = self._cursor
            if action != glfw.PRESS:
                if self._held_from is not None and math.hypot(x - self._held_from[0], y - self._held_from[1]) <= 3:
                    self.pointer.append(PointerEvent("click", x, y))
                self._held_from = None
                return
            now = time.perf_counter()
            last, self._press = self._press, (now, x, y)
            self._held_from, self._drag = (x, y), [0.0, 0.0]
            if last and now - last[0] <= DOUBLE_CLICK_SECONDS and math.hypot(x - last[1], y - last[2]) <= \
                    DOUBLE_CLICK_PIXELS:
                self.pointer.append(PointerEvent("double", x, y))
                self._press = None  # a third press starts afresh

        def scroll(_window, _dx, dy) -> None:
            touched()
            self.pending = True
            self.pointer.append(PointerEvent("wheel", *self._cursor, amount=dy))

        def drop(_window, paths) -> None:
            touched()
            self.dropped += [str(path) for path in paths]
            self.pending = True

        self.on_drop = drop  # what GLFW calls for files dropped on the window (tests call it too)
        self._callbacks = (touched, key, cursor, button, scroll, drop)  # keep references: glfw holds C pointers
        glfw.set_drop_callback(self.handle, drop)
        glfw.set_cursor_pos_callback(self.handle, cursor)
        glfw.set_mouse_button_callback(self.handle, button)
        glfw.set_scroll_callback(self.handle, scroll)
        glfw.set_key_callback(self.handle, key)
        glfw.set_char_callback(self.handle, touched)
        glfw.set_window_size_callback(self.handle, touched)

    # ---- each frame ------------------------------------------------------------------------------

    def measure(self) -> WindowSize:
        return WindowSize(*glfw.get_framebuffer_size(self.handle), *glfw.get_window_size(self.handle))

    def begin_frame(self) -> Input:
        """Poll events and start an ImGui frame; returns what arrived since the last frame."""
        glfw.poll_events()
        self.size = self.measure()
        imgui.backends.glfw_new_frame()
        imgui.new_frame()
        drag = None
        if self._held_from is not None:
            drag = (self._held_from[0], self._held_from[1], self._drag[0], self._drag[1])
            self._drag = [0.0, 0.0]
        arrived = Input(self.keys, self.pointer, drag, self.strokes, self.dropped, self._cursor, self._shift)
        self.keys, self.pointer, self.pending, self.strokes, self.dropped = [], [], False, [], []
        return arrived

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when a key, click or wheel notch arrives."""
        deadline = time.perf_counter() + seconds
        while not self.pending:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            glfw.wait_events_timeout(left)

    @property
    def should_close(self) -> bool:
        return bool(glfw.window_should_close(self.handle))

    def swap(self) -> None:
        glfw.swap_buffers(self.handle)

    def read(self, viewport: tuple[int, int, int, int]) -> np.ndarray:
        """RGB uint8 [h, w, 3] of the framebuffer's `viewport` (x, y from the bottom), row 0 at the top."""
        _, _, width, height = viewport
        raw = self.ctx.screen.read(viewport=viewport, components=3, alignment=1)
        return np.frombuffer(raw, np.uint8).reshape(height, width, 3)[::-1].copy()

    def screenshot(self, pixels: np.ndarray, folder: Path = Path("screenshots")) -> Path:
        """`pixels` (read from the framebuffer) as a new PNG under `folder`, written as every output is (a
        temporary name, then moved; never over a file); an OSError says why it failed."""
        from PIL import Image

        folder.mkdir(exist_ok=True)
        path = free_name(folder / f"ginn-gl-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')[:-3]}.png")
        return write_atomically(path, lambda tmp: Image.fromarray(pixels).save(tmp, format="PNG"))

    def destroy(self) -> None:
        imgui.backends.glfw_shutdown()
        implot.destroy_context(self.implot_context)
        imgui.destroy_context(self.imgui_context)
        self.ctx.release()
        glfw.destroy_window(self.handle)
        glfw.terminate()
