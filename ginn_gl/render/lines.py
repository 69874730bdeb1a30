"""The view's lines as anti-aliased geometry (shaders/lines.glsl), drawn at full resolution over a
background: on a CPU rasteriser the window draws a changed picture at a reduced resolution, and lines
from the per-pixel shader would be soft there; these stay crisp. The segments are exact (core.strokes),
each an instanced quad whose pixels take network.glsl's coverage of their distance to it.
"""

from __future__ import annotations

import moderngl
import numpy as np

from ginn_gl.core.strokes import Stroke, to_pixels
from ginn_gl.render.context import load_program

FLOATS = 9  # per segment: x0, y0, x1, y1 (view pixels), r, g, b, opacity, width


def instance_data(strokes: list[Stroke], domain: tuple[float, float, float, float],
                  size: tuple[int, int]) -> np.ndarray:
    """float32 [M, FLOATS]: every stroke's segments in drawing order, in pixels of a `size` view of `domain`."""
    rows = [np.column_stack([to_pixels(s.segments, domain, size),
                             np.tile([*s.colour, s.opacity, s.width], (len(s.segments), 1))]) for s in strokes]
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, FLOATS), np.float32)


class LineLayer:
    """Strokes uploaded once per change, drawn over whatever the bound framebuffer holds."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.program = load_program(ctx, "lines.glsl")
        self.buffer = ctx.buffer(reserve=FLOATS * 4 * 256, dynamic=True)
        self.vao: moderngl.VertexArray | None = None
        self.count = 0
        self._build()

    def _build(self) -> None:
        if self.vao is not None:
            self.vao.release()
        self.vao = self.ctx.vertex_array(self.program, [(self.buffer, "4f 4f 1f/i", "in_segment", "in_colour",
                                                         "in_width")])

    def set_strokes(self, strokes: list[Stroke], domain: tuple[float, float, float, float],
                    size: tuple[int, int]) -> None:
        data = instance_data(strokes, domain, size)
        if data.nbytes > self.buffer.size:  # grows by doubling, so a busy run reallocates rarely
            size = max(data.nbytes, 2 * self.buffer.size)
            self.buffer.release()
            self.buffer = self.ctx.buffer(reserve=size, dynamic=True)
            self._build()
        if len(data):
            self.buffer.write(data.tobytes())
        self.count = len(data)

    def draw(self, viewport: tuple[int, int, int, int]) -> None:
        """Blend the lines over the bound framebuffer's `viewport` (x, y from the bottom left, w, h)."""
        if not self.count or self.vao is None:
            return
        self.ctx.viewport = viewport
        self.program["u_viewport"].value = tuple(float(v) for v in viewport)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA  # premultiplied "over"
        self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=self.count)
        self.ctx.disable(moderngl.BLEND)

    def release(self) -> None:
        for resource in (self.vao, self.buffer, self.program):
            if resource is not None:
                resource.release()
