import ctypes
import os
import subprocess
import sys

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
    import shutil

    if not shutil.which("Xvfb"):
        if IN_CI:
            pytest.fail("CI must provide Xvfb for the window tests (Debian package xvfb)")
        pytest.skip("no Xvfb to run the window tests on")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(read, 1)
        if not chunk:
            pytest.fail("Xvfb did not start")
        number += chunk
    os.close(read)
    caller = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number.decode().strip()}"
    yield os.environ["DISPLAY"]
    if caller is None:
        del os.environ["DISPLAY"]
    else:
        os.environ["DISPLAY"] = caller
    proc.terminate()
    proc.wait(timeout=10)
