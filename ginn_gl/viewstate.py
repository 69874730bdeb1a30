"""What the window shows and how it moves through the history: one settings dataclass that the
panel and the keys edit, with the logic of following, scrubbing, autoplay and neuron toggles.

Plain Python and numpy (no imgui, no GL), so it has plain unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ginn_gl.selection import hidden_widths, layer_offsets

X_AXES = ("step", "log step", "snapshot")
MIN_SPEED, MAX_SPEED = 0.25, 480.0  # snapshots per second in autoplay
SPEED_FACTOR = 1.5
MIN_ZOOM, MAX_ZOOM = 1 / 16, 64.0


class HistoryLike(Protocol):
    generation: int

    def __len__(self) -> int: ...

    def step_at(self, index: int) -> int: ...

    def index_of_step(self, step: int) -> int: ...


@dataclass
class Settings:
    """Everything the user can change in the window."""

    sizes: list[int]
    view: str = "prediction"
    output_boundary: bool = True
    line_width: float = 1.5
    shown: np.ndarray = field(default=None)  # bool per hidden neuron: its line is drawn
    hovered: int | None = None  # the neuron under the mouse (button or node): drawn thicker
    follow_live: bool = True  # show the newest snapshot as it arrives
    index: int = 0  # the snapshot shown when not following
    step: int = 0  # its step, to find it again when the history thins
    playing: bool = False
    speed: float = 12.0  # snapshots per second in autoplay
    x_axis: str = "step"  # of the loss plot
    show_help: bool = False
    centre: tuple[float, float] = (0.5, 0.5)  # of the view, in the input plane
    zoom: float = 1.0  # 1 shows [0,1]^2; 2 shows a quarter of it
    _generation: int = 0
    _play_clock: float = 0.0

    def __post_init__(self) -> None:
        if self.shown is None:
            self.shown = np.ones(sum(hidden_widths(self.sizes)), dtype=bool)

    # ---- which snapshot ---------------------------------------------------------------------------

    def current_index(self, history: HistoryLike) -> int:
        """Index of the snapshot to show now (-1 while the history is empty)."""
        count = len(history)
        if count == 0:
            return -1
        if self.follow_live:
            return count - 1
        if history.generation != self._generation:  # thinning moved snapshots: find ours by step
            self.index = history.index_of_step(self.step)
            self._generation = history.generation
        return min(self.index, count - 1)

    def seek(self, index: int, history: HistoryLike) -> None:
        """Show snapshot `index` and stop following the newest one."""
        count = len(history)
        if count == 0:
            return
        self.index = int(np.clip(index, 0, count - 1))
        self.step = history.step_at(self.index)
        self._generation = history.generation
        self.follow_live = False

    def step_by(self, delta: int, history: HistoryLike) -> None:
        self.playing = False
        self.seek(self.current_index(history) + delta, history)

    def first(self, history: HistoryLike) -> None:
        self.playing = False
        self.seek(0, history)

    def go_live(self) -> None:
        self.follow_live = True
        self.playing = False

    # ---- autoplay --------------------------------------------------------------------------------

    def toggle_play(self, history: HistoryLike) -> None:
        if self.playing:
            self.playing = False
            return
        count = len(history)
        if count < 2:
            return
        at_end = self.current_index(history) >= count - 1
        self.seek(0 if at_end else self.current_index(history), history)  # from the start at the end
        self.playing = True
        self._play_clock = 0.0

    def advance(self, dt: float, history: HistoryLike, training: bool) -> None:
        """Autoplay: move `speed` snapshots a second. At the newest snapshot it joins the live view
        while training runs, or loops to the first one when the history is complete."""
        if not self.playing:
            return
        self._play_clock += dt * self.speed
        whole = int(self._play_clock)
        if whole == 0:
            return
        self._play_clock -= whole
        count = len(history)
        target = self.current_index(history) + whole
        if target <= count - 1:
            self.seek(target, history)
        elif training:
            self.go_live()
        else:
            self.seek(target % count, history)

    def faster(self) -> None:
        self.speed = min(MAX_SPEED, self.speed * SPEED_FACTOR)

    def slower(self) -> None:
        self.speed = max(MIN_SPEED, self.speed / SPEED_FACTOR)

    # ---- what is drawn -----------------------------------------------------------------------------

    def toggle_neuron(self, index: int) -> None:
        self.shown[index] = not self.shown[index]

    def layer_slice(self, layer: int) -> slice:
        """Flat slice of hidden layer `layer` (0-based)."""
        start = layer_offsets(self.sizes)[layer]
        return slice(start, start + hidden_widths(self.sizes)[layer])

    def toggle_layer(self, layer: int) -> None:
        """All of the layer's lines on, or off if they all are on already. Unknown layers: no-op."""
        if not 0 <= layer < len(hidden_widths(self.sizes)):
            return
        part = self.layer_slice(layer)
        self.shown[part] = not self.shown[part].all()

    def set_layer(self, layer: int, on: bool) -> None:
        self.shown[self.layer_slice(layer)] = on

    def set_all(self, on: bool) -> None:
        self.shown[:] = on

    def toggle_target_view(self) -> None:
        self.view = "prediction" if self.view == "target" else "target"

    def toggle_error_view(self) -> None:
        self.view = "prediction" if self.view == "error" else "error"

    # ---- the view rectangle -----------------------------------------------------------------------

    def domain(self) -> tuple[float, float, float, float]:
        """The input-plane square shown: x0, y0, x1, y1 (y downwards)."""
        half = 0.5 / self.zoom
        cx, cy = self.centre
        return (cx - half, cy - half, cx + half, cy + half)

    def zoom_about(self, point: tuple[float, float], factor: float) -> None:
        """Zoom by `factor` keeping the input-plane `point` under the mouse where it is."""
        new_zoom = float(np.clip(self.zoom * factor, MIN_ZOOM, MAX_ZOOM))
        ratio = self.zoom / new_zoom
        px, py = point
        cx, cy = self.centre
        self.centre = (px + (cx - px) * ratio, py + (cy - py) * ratio)
        self.zoom = new_zoom

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) in input-plane units."""
        self.centre = (self.centre[0] + dx, self.centre[1] + dy)

    def reset_view(self) -> None:
        self.centre = (0.5, 0.5)
        self.zoom = 1.0
