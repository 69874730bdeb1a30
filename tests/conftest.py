import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def run_cli(*args, timeout=300, **kwargs):
    """Run the real `ginn-gl` entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "ginn_gl", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def one_line_error(result, *words):
    """The command failed as bad input must: exit 2, one line on stderr naming `words`, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture(autouse=True)
def no_helper_outlives_its_test():
    """Trainers (and windows) a test leaves unfinished end their helper processes here, not at the session's end."""
    yield
    if "ginn_gl.core.resources" in sys.modules:
        sys.modules["ginn_gl.core.resources"].end_children()


def train_rings(folder: Path, steps: int, seed: int) -> Path:
    """A default-network run written by `ginn-gl train` itself (its geometry came through the helper)."""
    out = folder / "run.npz"
    result = run_cli("train", "--image", "rings", "--resolution", "40", "--steps", steps, "--lr", "1e-2",
                     "--seed", seed, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def egl_context():
    """One EGL context for the session, current only inside tests that ask for `gl_context`."""
    from ginn_gl.core.errors import UserError
    from ginn_gl.render.context import headless_context

    try:
        ctx = headless_context()
    except UserError as exc:
        if IN_CI:
            pytest.fail(f"CI must provide OpenGL through EGL: {exc}")
        pytest.skip(f"no OpenGL through EGL here: {exc}")
    # libglvnd refuses a GLX context on a thread that holds a current EGL one (X BadAccess, which
    # ends the process), so the window tests must find none current, whatever ran before them.
    egl = ctypes.CDLL("libEGL.so.1")
    egl.eglGetCurrentDisplay.restype = ctypes.c_void_p
    egl.eglMakeCurrent.argtypes = [ctypes.c_void_p] * 4
    egl.eglMakeCurrent(egl.eglGetCurrentDisplay(), None, None, None)
    yield ctx
    ctx.release()


@pytest.fixture
def gl_context(egl_context):
    """A real OpenGL context through EGL, current for this test; in CI its absence fails the test."""
    with egl_context:
        yield egl_context


@pytest.fixture(scope="session")
def display():
    """An X display for the window tests: always an Xvfb of our own, never the caller's display
    (a pointer resting over the caller's window would hover the panel and change the picture)."""
    from bench.xvfb import XvfbError, launch_xvfb

    try:
        proc, name = launch_xvfb()
    except XvfbError as exc:
        if IN_CI:
            pytest.fail(f"CI must provide Xvfb for the window tests: {exc}")
        pytest.skip(f"cannot run the window tests: {exc}")
    caller = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = name
    yield name
    if caller is None:
        del os.environ["DISPLAY"]
    else:
        os.environ["DISPLAY"] = caller
    proc.terminate()
    proc.wait(timeout=10)


def close_window(display_name: str, title_part: str) -> bool:
    """Ask the X window whose title holds `title_part` to close, as a window manager's close button
    does (a WM_DELETE_WINDOW message); True when one was found."""
    import ctypes

    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype, x11.XDefaultRootWindow.argtypes = ctypes.c_ulong, [ctypes.c_void_p]
    x11.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, *[ctypes.c_void_p] * 4]
    x11.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
    x11.XInternAtom.restype, x11.XInternAtom.argtypes = ctypes.c_ulong, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

    class Event(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    dpy = x11.XOpenDisplay(display_name.encode())
    assert dpy, f"cannot open display {display_name}"
    try:
        root, parent, children, count = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.POINTER(ctypes.c_ulong)(), \
            ctypes.c_uint()
        x11.XQueryTree(dpy, x11.XDefaultRootWindow(dpy), ctypes.byref(root), ctypes.byref(parent),
                       ctypes.byref(children), ctypes.byref(count))
        for i in range(count.value):
            name = ctypes.c_char_p()
            if x11.XFetchName(dpy, children[i], ctypes.byref(name)) and name.value and \
                    title_part.encode() in name.value:
                event = Event()
                event.xclient = ClientMessage(type=33, window=children[i], format=32,  # 33: ClientMessage
                                              message_type=x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0))
                event.xclient.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
                x11.XSendEvent(dpy, children[i], 0, 0, ctypes.byref(event))
                x11.XFlush(dpy)
                return True
        return False
    finally:
        x11.XCloseDisplay(dpy)
