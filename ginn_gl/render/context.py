"""OpenGL contexts and GLSL programs.

A window's context comes from glfw (ui/); headless work uses EGL. Programs are one file each in
shaders/: the stage is chosen by a #define, compile-time constants are inserted as #defines, and a
#line makes compiler messages point at the file's own lines.
"""

from __future__ import annotations

from pathlib import Path

import moderngl

from ginn_gl.core.errors import UserError
from ginn_gl.core.resources import shader_dir

GL_REQUIRE = 330
GL_COMPUTE = 430  # compute shaders came with OpenGL 4.3
GLSL_VERSION = "#version 330 core"
COMPUTE_VERSION = "#version 430 core"
STAGES = {"vertex_shader": "VERTEX_SHADER", "fragment_shader": "FRAGMENT_SHADER"}
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "software", "swiftshader")


class ShaderError(RuntimeError):
    """A GLSL program failed to compile or link; the message names the file and its lines."""


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


def software_renderer(ctx: moderngl.Context) -> bool:
    """True on a CPU rasteriser (Mesa llvmpipe and the like), where every pixel costs CPU time."""
    return any(name in ctx.info["GL_RENDERER"].lower() for name in SOFTWARE_RENDERERS)


def build_source(text: str, stage: str, defines: dict[str, object] | None = None,
                 version: str = GLSL_VERSION) -> str:
    header = [version, f"#define {stage}"]
    header += [f"#define {name} {value}" for name, value in (defines or {}).items()]
    # GLSL >= 3.30: the line after `#line N` is line N, so errors carry the file's numbering.
    header.append("#line 1")
    return "\n".join(header) + "\n" + text


def load_program(ctx: moderngl.Context, name: str, defines: dict[str, object] | None = None,
                 folder: Path | None = None, compute: bool = False):
    """The file's vertex + fragment program, or with `compute` its COMPUTE_SHADER stage (OpenGL 4.3)."""
    path = (folder or shader_dir()) / name
    text = path.read_text(encoding="utf-8")
    try:
        if compute:
            return ctx.compute_shader(build_source(text, "COMPUTE_SHADER", defines, COMPUTE_VERSION))
        return ctx.program(**{key: build_source(text, macro, defines) for key, macro in STAGES.items()})
    except moderngl.Error as exc:
        raise ShaderError(f"{path.name}: {exc}".rstrip()) from None
