"""What the window shows: one network or several side by side (seeds trained together, or recorded
runs of one target size), each in a cell of a grid with its label, all at one step and under one
set of view settings. A cell can be maximised to the whole view and back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import moderngl
import numpy as np
from imgui_bundle import imgui

from ginn_gl.core.history import Snapshot
from ginn_gl.core.partitioner import Partitioner
from ginn_gl.core.view import ViewSettings, grid_shape, view_for
from ginn_gl.render.renderer import Blit, NetworkRenderer
from ginn_gl.ui.lossplot import SEED_COLOURS
from ginn_gl.ui.session import Track
from ginn_gl.ui.viewpane import VIEW_BUDGET, Drawn, ViewPane

LABEL_PAD = 4.0  # window units around a cell's label


def weights_key(serial: int, cell: int, step: int) -> tuple[int, int, int]:
    """What tells uploaded weights apart: the session (bumped on restart), the cell and the step."""
    return serial, cell, step


@dataclass
class Cell:
    track: Track
    pane: ViewPane
    rect: tuple[int, int, int] = (0, 0, 1)  # x, y (bottom left), side, in framebuffer pixels
    label_rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x, y, w, h in window units
    snapshot: Snapshot | None = None
    target: np.ndarray | None = None  # the target version it shows (the app resolves it each frame)
    target_key: Hashable = None  # what tells target versions apart


@dataclass
class Grid:
    """The cells, their panes, and one renderer per network shape (its program compiled once)."""

    ctx: moderngl.Context
    blit: Blit
    finish: Callable[[], None]
    software: bool
    tracks: list[Track]
    lead: int = 0  # the cell the panel follows when none of its shape is maximised
    cells: list[Cell] = field(default_factory=list)
    renderers: dict[tuple[tuple[int, ...], str], NetworkRenderer] = field(default_factory=dict)
    maximised: int | None = None  # the cell shown alone, or None for all
    _targets: dict[int, object] = field(default_factory=dict)  # each renderer's uploaded target's key
    worker: Partitioner = field(init=False)  # the shown snapshots' partitions (crisp lines, hover), beside us

    def __post_init__(self) -> None:
        self.worker = Partitioner()
        for track in self.tracks:
            key = (tuple(track.sizes), track.activation)
            if key not in self.renderers:
                self.renderers[key] = NetworkRenderer(self.ctx, track.sizes, track.activation)
            renderer = self.renderers[key]
            progressive = self.software and renderer.path == "fragment"
            self.cells.append(Cell(track, ViewPane(self.ctx, self.blit, self.finish, progressive, self.worker)))

    @property
    def focus(self) -> int:
        """The cell the panel follows (slider, diagram, neuron toggles): a maximised cell of the lead's
        shape, else the lead."""
        m, lead = self.maximised, self.cells[self.lead].track
        if m is not None and (self.cells[m].track.sizes, self.cells[m].track.activation) == (lead.sizes,
                                                                                             lead.activation):
            return m
        return self.lead

    def renderer(self, cell: Cell) -> NetworkRenderer:
        return self.renderers[(tuple(cell.track.sizes), cell.track.activation)]

    @property
    def visible(self) -> list[Cell]:
        return self.cells if self.maximised is None else [self.cells[self.maximised]]

    def layout(self, width: int, height: int, scale: float, window_height: float) -> None:
        """Square cells in a grid centred in the framebuffer's left `width` x `height` pixels."""
        cells = self.visible
        columns, rows = grid_shape(len(cells))
        side = max(1, min(width // columns, height // rows))
        x0, y0 = (width - side * columns) // 2, (height - side * rows) // 2
        for i, cell in enumerate(cells):
            row, column = divmod(i, columns)
            cell.rect = (x0 + column * side, y0 + (rows - 1 - row) * side, side)
            top = window_height - (cell.rect[1] + side) / scale  # window units, from the top
            # the label keeps the size labels() measured last frame: clicks arrive before it draws
            cell.label_rect = (cell.rect[0] / scale + LABEL_PAD, top + LABEL_PAD, *cell.label_rect[2:])

    def area(self) -> tuple[int, int, int, int]:
        """The visible cells' bounding rectangle in framebuffer pixels: x, y (bottom left), w, h."""
        cells = self.visible
        x0, y0 = min(c.rect[0] for c in cells), min(c.rect[1] for c in cells)
        x1, y1 = max(c.rect[0] + c.rect[2] for c in cells), max(c.rect[1] + c.rect[2] for c in cells)
        return x0, y0, x1 - x0, y1 - y0

    def cell_at(self, x: float, y: float, scale: float, window_height: float) -> Cell | None:
        """The visible cell under a window position."""
        fb_x, fb_y = x * scale, (window_height - y) * scale
        for cell in self.visible:
            cx, cy, side = cell.rect
            if cx <= fb_x < cx + side and cy <= fb_y < cy + side:
                return cell
        return None

    def labels(self, show: bool) -> None:
        """Each cell's name and the loss of the snapshot it shows, clickable (it maximises the cell)."""
        if not show:
            return
        draw = imgui.get_foreground_draw_list()
        for index, cell in enumerate(self.cells):
            if cell not in self.visible:
                continue
            loss = f"   loss {cell.snapshot.loss:.4f}" if cell.snapshot is not None else ""
            text = f"{cell.track.label}{loss}"
            size = imgui.calc_text_size(text)
            swatch = size.y * 0.7  # the run's colour in the loss plot
            x, y, _, _ = cell.label_rect
            w, h = size.x + swatch + 3 * LABEL_PAD, size.y + 2 * LABEL_PAD
            cell.label_rect = (x, y, w, h)
            draw.add_rect_filled((x, y), (x + w, y + h), imgui.get_color_u32(imgui.ImVec4(0, 0, 0, 0.7)), 3.0)
            top = y + (h - swatch) / 2
            colour = imgui.ImVec4(*SEED_COLOURS[index % len(SEED_COLOURS)], 1.0)
            draw.add_rect_filled((x + LABEL_PAD, top), (x + LABEL_PAD + swatch, top + swatch),
                                 imgui.get_color_u32(colour), 2.0)
            draw.add_text((x + 2 * LABEL_PAD + swatch, y + LABEL_PAD), imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 1)),
                          text)

    def label_at(self, x: float, y: float) -> int | None:
        """The index of the cell whose label is under a window position."""
        for index, cell in enumerate(self.cells):
            lx, ly, lw, lh = cell.label_rect
            if cell in self.visible and lx <= x < lx + lw and ly <= y < ly + lh:
                return index
        return None

    def toggle_maximised(self, index: int) -> None:
        self.maximised = None if self.maximised == index or len(self.cells) == 1 else index

    def draw(self, view: ViewSettings, serial: int, whole: bool = False) -> Drawn | None:
        """Bring each visible cell's picture up to date, sharing the frame's drawing budget (`whole`:
        every cell at full resolution this frame)."""
        visible = self.visible
        budget = VIEW_BUDGET / len(visible)
        seconds, scale, drew = 0.0, 1.0, False
        for index, cell in enumerate(self.cells):
            if cell not in visible or cell.snapshot is None:
                continue
            renderer = self.renderer(cell)
            target, key = (cell.track.target, id(cell.track)) if cell.target is None else (cell.target, cell.target_key)
            if self._targets.get(id(renderer)) != key:
                renderer.set_target(target)
                self._targets[id(renderer)] = key
            renderer.set_weights(cell.snapshot.weights, key=weights_key(serial, index, cell.snapshot.step))
            drawn = cell.pane.update(renderer, view_for(view, cell.track.sizes), (renderer.weights_key, key),
                                     cell.rect[2], budget, whole)
            if drawn.seconds is not None:
                seconds, drew = seconds + drawn.seconds, True
            scale = min(scale, drawn.scale)
        return Drawn(seconds if drew else None, scale)

    def present(self) -> None:
        for cell in self.visible:
            if cell.snapshot is not None and cell.pane.key is not None:
                cell.pane.present(cell.rect[:2])

    @property
    def complete(self) -> bool:
        return all(cell.pane.complete or cell.snapshot is None for cell in self.visible)

    def release(self) -> None:
        for cell in self.cells:
            cell.pane.release()
        for renderer in self.renderers.values():
            renderer.release()
        self.worker.close()
