"""OpenGL contexts: a window's comes from glfw (app.py); headless work uses EGL."""

from __future__ import annotations

import moderngl

from ginn_gl.errors import UserError

GL_REQUIRE = 330
GL_COMPUTE = 430


def headless_context() -> moderngl.Context:
    """A standalone EGL context: rendering with no display at all (CI, servers, `render`)."""
    try:
        # 4.3 where the driver has it (compute shaders); EGL gives exactly the version asked for.
        return moderngl.create_standalone_context(backend="egl", require=GL_COMPUTE)
    except Exception:  # noqa: BLE001 - retried below at the version we need
        pass
    try:
        return moderngl.create_standalone_context(backend="egl", require=GL_REQUIRE)
    except Exception as exc:  # moderngl/glcontext raise plain Exceptions for a missing EGL
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise UserError(f"no OpenGL {GL_REQUIRE // 100}.{GL_REQUIRE % 100 // 10} available through EGL "
                        f"({first}); install a GPU driver or Mesa (Debian: libegl1 libegl-mesa0 "
                        "libgl1-mesa-dri)") from None
