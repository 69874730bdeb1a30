"""Hovering the view: the linear region under the pointer, exactly (its polygon from the shown
snapshot's partition, core.partitioner), outlined over the view, and a small tooltip with its
activation pattern per layer, its area and the logit on it."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
from imgui_bundle import imgui

from ginn_gl.core.exact import RegionFacts, region_facts
from ginn_gl.core.view import ViewSettings
from ginn_gl.ui.grid import Cell, Grid, weights_key

OUTLINE = (1.0, 1.0, 1.0, 0.95)
OUTLINE_SHADOW = (0.0, 0.0, 0.0, 0.7)


class Hover:
    def __init__(self) -> None:
        self.facts: RegionFacts | None = None  # the region under the pointer (None: none)
        self.outline: np.ndarray | None = None  # its polygon in window coordinates
        self._part: object = None  # the partition the facts were found in (held: its id is not reused)
        self._key: Hashable = None  # (point, domain, cell) they were found for
        self._found: tuple[RegionFacts, np.ndarray] | None = None

    def build(self, grid: Grid, view: ViewSettings, serial: int, over_view: Callable[[float, float], bool],
              scale: float, window_height: float) -> None:
        """The region under the pointer, if it rests on the view (`over_view`, not over the panel, not
        dragging), its outline and tooltip; the partition is asked for once per shown snapshot and read
        when it is there."""
        self.facts = self.outline = None
        mouse = imgui.get_mouse_pos()
        pointer = (float(mouse.x), float(mouse.y))
        if imgui.get_io().want_capture_mouse or imgui.is_mouse_down(0) or not over_view(*pointer):
            return
        cell = grid.cell_at(*pointer, scale, window_height)
        if cell is None or cell.snapshot is None:
            return
        track, index = cell.track, grid.cells.index(cell)
        part = cell.pane.partition.get(weights_key(serial, index, cell.snapshot.step), cell.snapshot.weights,
                                       track.sizes, track.activation, view.domain, timeout=0.0)
        if part is None:
            return
        point = self.input_point(cell, view, pointer, scale, window_height)
        key = (point, view.domain, cell.rect)
        if part is not self._part or key != self._key:  # a pointer at rest asks every frame: found once
            region = int(part.locate(np.array([point]))[0])
            facts = region_facts(part, region, *track.target.shape) if region >= 0 else None
            self._part, self._key = part, key
            self._found = None if facts is None else \
                (facts, self.window_points(cell, view, facts.polygon, scale, window_height))
        if self._found is None:
            return
        self.facts, self.outline = self._found
        self._draw(cell, scale, window_height)

    @staticmethod
    def input_point(cell: Cell, view: ViewSettings, pointer: tuple[float, float], scale: float,
                    window_height: float) -> tuple[float, float]:
        x, y, side = cell.rect
        x0, y0, x1, y1 = view.domain
        fb_x, fb_y = pointer[0] * scale - x, (window_height - pointer[1]) * scale - y
        return x0 + (x1 - x0) * fb_x / side, y0 + (y1 - y0) * (1 - fb_y / side)

    @staticmethod
    def window_points(cell: Cell, view: ViewSettings, points: np.ndarray, scale: float,
                      window_height: float) -> np.ndarray:
        """Input-plane points [M, 2] -> window coordinates over the cell."""
        x, y, side = cell.rect
        x0, y0, x1, y1 = view.domain
        left, top = x / scale, window_height - (y + side) / scale
        return np.column_stack([left + (points[:, 0] - x0) / (x1 - x0) * side / scale,
                                top + (points[:, 1] - y0) / (y1 - y0) * side / scale])

    def _draw(self, cell: Cell, scale: float, window_height: float) -> None:
        assert self.facts is not None and self.outline is not None
        x, y, side = cell.rect
        draw = imgui.get_foreground_draw_list()
        draw.push_clip_rect((x / scale, window_height - (y + side) / scale),
                            ((x + side) / scale, window_height - y / scale), True)
        points = [imgui.ImVec2(float(px), float(py)) for px, py in self.outline]
        for colour, thickness in ((OUTLINE_SHADOW, 4.0), (OUTLINE, 2.0)):
            draw.add_polyline(points, imgui.get_color_u32(imgui.ImVec4(*colour)), thickness,
                              imgui.ImDrawFlags_.closed.value)
        draw.pop_clip_rect()
        facts = self.facts
        imgui.begin_tooltip()
        imgui.text(f"linear region {facts.index + 1:,} of {facts.count:,}")
        for number, (bits, on, n) in enumerate(facts.layers, start=1):
            imgui.text(f"layer {number}  {bits}  ({on} of {n} on)")
        imgui.text(f"area {facts.share:.3g} of the picture ({facts.pixels:,.1f} px^2)" if facts.share > 0
                   else "outside the picture")
        imgui.text(f"logit {facts.slope[0]:+.3g} x {facts.slope[1]:+.3g} y {facts.intercept:+.3g}, "
                   f"slope {facts.steepness:.3g}")
        imgui.end_tooltip()
