"""The window's network view, kept up with the panel on any machine.

On a GPU every change is drawn at full resolution in the same frame (well under a millisecond).
On a CPU rasteriser (Mesa llvmpipe: about 0.3 s for a 900 px view) a change is drawn at once at a
reduced resolution that fits the frame's budget and shown upscaled, without its lines: they are drawn
over it as geometry at full resolution (render/lines.py, from the snapshot's exact partition), as
crisp as the shader's; then, while nothing changes, the full-resolution picture is drawn band by band
within the same budget each frame, from the top, over the reduced one, the shader's lines in it. The
scale comes from measured draw times.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import moderngl

from ginn_gl.core.partitioner import Partitioner, ShownPartition
from ginn_gl.core.strokes import strokes
from ginn_gl.core.view import ViewSettings
from ginn_gl.render.lines import LineLayer
from ginn_gl.render.renderer import Blit, NetworkRenderer

REDUCTIONS = (1, 2, 3, 4, 6, 8, 12)  # a reduced view is side / k pixels a side
VIEW_BUDGET = 0.02  # seconds of drawing a frame: with the panel, a frame fits 1/24 s
MIN_BAND = 8  # rows: a refinement step never draws fewer (a draw has a fixed cost too)
LINES_BUDGET = 0.05  # s: a net whose partition takes longer (2-64x8-1) keeps the shader's soft lines when reduced
LINES_WAIT = 0.05  # s: how long a reduced picture waits for its partition; later frames take it when it comes


def choose_reduction(seconds_per_pixel: float | None, side: int, budget: float = VIEW_BUDGET) -> int:
    """The smallest k in REDUCTIONS whose (side / k)^2 pixels draw within `budget`."""
    if seconds_per_pixel is None:  # nothing measured yet: a safe guess, measured as it is drawn
        return REDUCTIONS[3]
    for k in REDUCTIONS:
        if seconds_per_pixel * math.ceil(side / k) ** 2 <= budget:
            return k
    return REDUCTIONS[-1]


def band_rows(seconds_per_pixel: float, side: int, budget: float, left: int) -> int:
    """Rows of a full-resolution band that draw within `budget` (at least MIN_BAND, at most `left`)."""
    rows = int(budget / max(seconds_per_pixel * side, 1e-12))
    return max(1, min(left, max(MIN_BAND, rows)))


@dataclass
class Drawn:
    """What the pane did this frame."""

    seconds: float | None  # time spent drawing (None: nothing drawn)
    scale: float  # resolution of what is shown, relative to full


class ViewPane:
    def __init__(self, ctx: moderngl.Context, blit: Blit, finish: Callable[[], None], progressive: bool,
                 worker: Partitioner | None = None):
        self.ctx = ctx
        self.blit = blit
        self.finish = finish  # waits for the GPU (or llvmpipe) without holding the GIL
        self.progressive = progressive
        self.key: Hashable = None  # what the pane shows: (weights key, view key, side)
        self.side = 0
        self.reduction = 1  # k of the reduced picture now shown (1: none)
        self.rows_done = 0  # rows of the full-resolution picture drawn for `key`, from the top
        self.seconds_per_pixel: float | None = None  # measured, smoothed
        self._draws = 0  # the first draw also compiles the shader on llvmpipe: it measures nothing
        self.full: tuple[moderngl.Texture, moderngl.Framebuffer] | None = None
        self.reduced: dict[int, tuple[moderngl.Texture, moderngl.Framebuffer]] = {}
        self.partition = ShownPartition(worker)  # the exact partition of the snapshot shown: the lines, the hover
        self.lines: LineLayer | None = None  # a reduced picture's lines, made when one is first drawn
        self.lines_pending = False  # the reduced picture shown waits for its partition

    def _full(self) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        assert self.full is not None, "update() sizes the pane before it draws"
        return self.full

    @property
    def scale(self) -> float:
        return 1.0 if self.rows_done >= self.side else 1.0 / self.reduction

    @property
    def complete(self) -> bool:
        return self.key is not None and self.rows_done >= self.side

    def _target(self, size: int, smooth: bool) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        texture = self.ctx.texture((size, size), 4)
        texture.filter = (moderngl.LINEAR, moderngl.LINEAR) if smooth else (moderngl.NEAREST, moderngl.NEAREST)
        texture.repeat_x = texture.repeat_y = False
        return texture, self.ctx.framebuffer(color_attachments=[texture])

    def _resize(self, side: int) -> None:
        self._release_targets()
        self.side = side
        self.full = self._target(side, smooth=False)
        self.key = None

    def _draw(self, fbo: moderngl.Framebuffer, renderer: NetworkRenderer, view: ViewSettings, size: int,
              scale: float, rows: tuple[int, int] | None = None, lines: bool = True) -> float:
        """Draw into `fbo` (all of it, or GL rows [a, b)); returns the seconds it took."""
        started = time.perf_counter()
        fbo.use()
        fbo.scissor = None if rows is None else (0, rows[0], size, rows[1] - rows[0])
        renderer.draw((0, 0, size, size), view, pixel_scale=scale, lines=lines)
        fbo.scissor = None
        self.finish()
        seconds = time.perf_counter() - started
        self._draws += 1
        if self._draws > 1:
            measured = seconds / (size * (size if rows is None else rows[1] - rows[0]))
            self.seconds_per_pixel = measured if self.seconds_per_pixel is None else \
                self.seconds_per_pixel + 0.3 * (measured - self.seconds_per_pixel)
        return seconds

    def update(self, renderer: NetworkRenderer, view: ViewSettings, weights_key: Hashable, side: int,
               budget: float = VIEW_BUDGET, whole: bool = False) -> Drawn:
        """Bring the picture up to date with the renderer's weights and `view`, within `budget` seconds
        (`whole`: at full resolution now, whatever it takes, as a screenshot needs)."""
        if side != self.side:
            self._resize(side)
        key = (weights_key, view.key(), side)
        spent = 0.0
        drew = False
        if key != self.key:
            self.key = key
            k = choose_reduction(self.seconds_per_pixel, side, budget) if self.progressive and not whole else 1
            if k == 1:
                spent += self._draw(self._full()[1], renderer, view, side, 1.0)
                self.rows_done, self.lines_pending = side, False
            else:
                size = math.ceil(side / k)
                if size not in self.reduced:
                    self.reduced[size] = self._target(size, smooth=True)
                crisp = self.partition.seconds <= LINES_BUDGET
                if crisp:  # the worker computes the partition while the picture is drawn
                    self.partition.ask(weights_key, renderer.flat, renderer.sizes, renderer.activation, view.domain)
                spent += self._draw(self.reduced[size][1], renderer, view, size, size / side, lines=not crisp)
                spent += self._set_lines(renderer, view, weights_key, side, LINES_WAIT if crisp else None)
                self.rows_done = 0
            self.reduction = k
            drew = True
        elif self.lines_pending:  # the partition came late: its lines now
            spent += self._set_lines(renderer, view, weights_key, side, 0.0)
            drew = not self.lines_pending
        elif self.rows_done < side:  # nothing changed: refine a band at full resolution
            rows = side - self.rows_done if whole else \
                band_rows(self.seconds_per_pixel or 1e-6, side, budget, side - self.rows_done)
            top = side - self.rows_done
            spent += self._draw(self._full()[1], renderer, view, side, 1.0, (top - rows, top))
            self.rows_done += rows
            drew = True
        return Drawn(spent if drew else None, self.scale)

    def _set_lines(self, renderer: NetworkRenderer, view: ViewSettings, weights_key: Hashable, side: int,
                   wait: float | None) -> float:
        """The lines of `view` over the snapshot's exact partition, as geometry, if it comes within `wait`
        seconds (None: no lines, the reduced picture has the shader's); returns the seconds it took."""
        started = time.perf_counter()
        if self.lines is None:
            self.lines = LineLayer(self.ctx)
        part = None if wait is None else \
            self.partition.get(weights_key, renderer.flat, renderer.sizes, renderer.activation, view.domain, wait)
        self.lines_pending = wait is not None and part is None
        self.lines.set_strokes([] if part is None else strokes(part, view), view.domain, (side, side))
        return time.perf_counter() - started

    def present(self, origin: tuple[int, int]) -> None:
        """Copy the picture into the bound framebuffer's square at `origin` (bottom left)."""
        side = self.side
        if self.rows_done < side:
            texture = self.reduced[math.ceil(side / self.reduction)][0]
            self.ctx.viewport = (*origin, side, side)
            self.blit.draw(texture, origin, (side, side))
            if self.lines is not None:  # crisp lines over the part not refined yet (the refined part has its own)
                self.ctx.scissor = (*origin, side, side - self.rows_done)
                self.lines.draw((*origin, side, side))
                self.ctx.scissor = None
        if self.rows_done > 0:
            x, y = origin
            self.ctx.viewport = (x, y, side, side)
            self.ctx.scissor = (x, y + side - self.rows_done, side, self.rows_done)
            self.blit.draw(self._full()[0], origin)
            self.ctx.scissor = None

    def _release_targets(self) -> None:
        for texture, fbo in ([self.full] if self.full else []) + list(self.reduced.values()):
            fbo.release()
            texture.release()
        self.full, self.reduced = None, {}

    def release(self) -> None:
        self._release_targets()
        if self.lines is not None:
            self.lines.release()
            self.lines = None
