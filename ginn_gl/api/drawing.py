"""A run's pictures from Python: the pixels `ginn-gl render` writes and the files `ginn-gl export`
writes, drawn by the same code (cli.drawing.single_image, render.export.frames) in one headless EGL
context that every call reuses."""

from __future__ import annotations

import ctypes
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ginn_gl.api.options import OptionError, as_keywords, real, whole
from ginn_gl.core.outputs import check_frames_folder, check_output, write_atomically
from ginn_gl.core.runfile import Run as RunRecord
from ginn_gl.core.view import ViewSettings

if TYPE_CHECKING:
    import moderngl

_lock = threading.Lock()  # one caller at a time draws in the shared context
_context: moderngl.Context | None = None


def shared_context() -> moderngl.Context:
    """The process's one headless context for the API, made on first use. It is current only while
    something draws in it: a thread holding a current EGL context cannot open a GLX window later."""
    global _context
    if _context is None:
        from ginn_gl.render.context import headless_context

        _context = headless_context()
        release_current()
    return _context


def release_current() -> None:
    """Leave this thread with no current EGL context (what `with ctx:` restores to afterwards)."""
    try:
        egl = ctypes.CDLL("libEGL.so.1")
    except OSError:
        return
    egl.eglGetCurrentDisplay.restype = ctypes.c_void_p
    egl.eglMakeCurrent.argtypes = [ctypes.c_void_p] * 4
    display = egl.eglGetCurrentDisplay()
    if display:
        egl.eglMakeCurrent(display, None, None, None)


def image_size(size: object) -> tuple[int, int]:
    """400, (800, 600) or "800x600" -> (width, height), within what `render --size` takes."""
    from ginn_gl.cli.arguments import parse_size

    if isinstance(size, tuple) and len(size) == 2:
        spec = f"{whole('size', size[0])}x{whole('size', size[1])}"
    elif isinstance(size, str):
        spec = size
    else:
        spec = str(whole("size", size))
    with as_keywords("size"):
        return parse_size(spec)


def render_pixels(record: RunRecord, index: int, size: tuple[int, int], view: ViewSettings) -> np.ndarray:
    """uint8 [H, W, 3]: what `ginn-gl render` writes for this snapshot, size and view."""
    from ginn_gl.cli.drawing import check_memory, single_image

    with as_keywords("size"):
        check_memory(*size)
    with _lock:
        ctx = shared_context()
        with ctx:
            return single_image(record, index, size, view, ctx=ctx)


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def export_run(record: RunRecord, name: str, path: str | Path, view: ViewSettings, *, frames: int | str | None,
               fps: float, size: int, label: bool, overwrite: bool, progress: bool) -> Path:
    """What `ginn-gl export RUN --out path` writes (a .mp4, a .gif, a folder of PNGs or a .html page),
    drawn by the same functions; returns where it went."""
    from ginn_gl.cli.drawing import DEFAULT_FRAMES, check_memory
    from ginn_gl.render.export import frames as draw_frames
    from ginn_gl.render.export import grid_steps, pick_steps, snapshot_at, write
    from ginn_gl.render.webpage import build_page

    # None: as `export` without --frames (a video: DEFAULT_FRAMES of them, a page: every snapshot)
    wanted = None if frames == "all" or (frames is None and kind_of(path) == "html") else \
        DEFAULT_FRAMES if frames is None else whole("frames", frames)
    if wanted is not None and wanted < 1:
        raise OptionError(f"frames={frames!r} must be a number of frames from 1, or 'all'")
    fps = real("fps", fps)
    kind = kind_of(path)
    with as_keywords("path"):
        out = check_frames_folder(path, "path", overwrite) if kind == "folder" else check_output(path, "path",
                                                                                                overwrite)
    steps = pick_steps(grid_steps([record]), wanted)
    if kind == "html":
        keep = None if wanted is None else [np.unique([snapshot_at(record, step) for step in steps])]
        page = build_page([record], [name], view, labels=label, keep=keep).encode("utf-8")

        def write_page(tmp: Path) -> None:
            tmp.write_bytes(page)

        with as_keywords("path"):
            return write_atomically(out, write_page, overwrite)
    side = whole("size", size)
    if not 1 <= side <= 8192:
        raise OptionError(f"size={side} is out of range; use 1 to 8192 pixels a side")
    if kind == "mp4" and side % 2:
        side += 1  # H.264 in yuv420p needs an even size, as `export` rounds it
    if not 0.1 <= fps <= 240:
        raise OptionError(f"fps={fps:g} is out of range; use 0.1 to 240")
    with as_keywords("size"):
        check_memory(side, side)
    from ginn_gl.api.progress import progress_bar

    bar = progress_bar(len(steps), "frame", progress)

    def shown(images: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        started = time.perf_counter()
        for done, pixels in enumerate(images, start=1):
            yield pixels
            if bar is not None:
                elapsed = time.perf_counter() - started
                bar.update(done, done / elapsed if elapsed else 0.0, f"{elapsed / done * 1e3:.0f} ms/frame",
                           final=done == len(steps))

    def written(tmp: Path) -> None:
        write(tmp, kind, shown(draw_frames([record], steps, side, view, label, [name])), fps)

    with _lock, shared_context():  # `frames` makes a context of its own: this one is current again after
        with as_keywords("path"):
            return write_atomically(out, written, overwrite)


def kind_of(path: str | Path) -> str:
    from ginn_gl.render.export import output_format

    with as_keywords("path", "--out"):
        return output_format(Path(path))
