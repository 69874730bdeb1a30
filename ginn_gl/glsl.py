"""Loading GLSL programs: one file per program, stages chosen by a #define, compile-time constants
inserted as #defines, and a #line so compiler messages point at the file's own lines.
"""

from __future__ import annotations

from pathlib import Path

import moderngl

from ginn_gl.resources import shader_dir

GLSL_VERSION = "#version 330 core"
COMPUTE_VERSION = "#version 430 core"  # compute shaders came with OpenGL 4.3
STAGES = {"vertex_shader": "VERTEX_SHADER", "fragment_shader": "FRAGMENT_SHADER"}


class ShaderError(RuntimeError):
    """A GLSL program failed to compile or link; the message names the file and its lines."""


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
