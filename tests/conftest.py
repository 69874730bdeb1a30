import os
import subprocess
import sys

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def run_cli(*args, timeout=300, **kwargs):
    """Run the real `ginn-gl` entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "ginn_gl", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def gl_context():
    """A real OpenGL context through EGL; in CI its absence fails the test instead of skipping."""
    from ginn_gl.errors import UserError
    from ginn_gl.gl import headless_context

    try:
        ctx = headless_context()
    except UserError as exc:
        if IN_CI:
            pytest.fail(f"CI must provide OpenGL through EGL: {exc}")
        pytest.skip(f"no OpenGL through EGL here: {exc}")
    yield ctx
    ctx.release()
