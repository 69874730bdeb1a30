"""What the network view draws: one settings type for the window, `render` and `export`.

The renderer reads it as it is; the window's panel and keys edit it; the command line builds it
from options. Plain Python and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ginn_gl.core.errors import UserError
from ginn_gl.core.selection import hidden_count, hidden_widths, layer_offsets

BACKGROUNDS = ("prediction", "target", "error", "regions")  # --view; regions: a flat colour per activation pattern
SHADINGS = ("flat", "gradient")  # the regions view: flat, or darker where the logit is flatter
CONTRASTS = ("none", "stretch")  # stretch: each prediction from its own min to max, as the original drew
DEFAULT_DOMAIN = (0.0, 0.0, 1.0, 1.0)
MIN_SPAN, MAX_SPAN = 1 / 64, 16.0  # the shown square's side: 64x zoom in, 16x out
OUTPUT_WIDTH = 2.0  # pixels: the output's p = 0.5 line
OUTPUT_HALO = OUTPUT_WIDTH + 2.0  # pixels: the dark halo under it, so it shows on white too
MAX_COORDINATE, MIN_DOMAIN_SPAN = 1e4, 1e-4  # --domain: the shader works in float32


@dataclass
class ViewSettings:
    sizes: list[int]  # the network's layer widths, inputs and output included
    background: str = "prediction"  # one of BACKGROUNDS (the --view option)
    line_width: float = 1.5  # pixels, at any zoom
    output_boundary: bool = True  # draw the output's p = 0.5 line (white, with a dark halo): window, render, export
    shown: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool per hidden neuron (empty: all)
    highlighted: int | None = None  # a hidden neuron drawn thicker (shown or not)
    domain: tuple[float, float, float, float] = DEFAULT_DOMAIN  # x0, y0 (top left), x1, y1
    contrast: str = "none"  # one of CONTRASTS: the prediction's grey levels as p, or stretched
    shading: str = "flat"  # one of SHADINGS, for the regions view
    solo: int | None = None  # a hidden neuron shown alone: only its line, its active side tinted
    probe: int | None = None  # a hidden neuron whose activation is the background (the diagram's thumbnails)
    extent: tuple[float, float] = (1.0, 1.0)  # the data's rectangle [0, W/L] x [0, H/L] (targets.extent)

    def __post_init__(self) -> None:
        if len(self.shown) == 0:
            self.shown = np.ones(hidden_count(self.sizes), dtype=bool)
        if self.background not in BACKGROUNDS:
            raise UserError(f"--view {self.background!r} is unknown; use one of {', '.join(BACKGROUNDS)}")
        if self.contrast not in CONTRASTS:
            raise UserError(f"--contrast {self.contrast!r} is unknown; use one of {', '.join(CONTRASTS)}")
        if self.shading not in SHADINGS:
            raise UserError(f"--shading {self.shading!r} is unknown; use one of {', '.join(SHADINGS)}")
        if not math.isfinite(self.line_width) or self.line_width <= 0:
            raise UserError(f"--line-width {self.line_width} must be a positive number of pixels")

    @property
    def highlight_width(self) -> float:
        """The highlighted line: clearly thicker than the others at any line width."""
        return max(3.5, 2.5 * self.line_width)

    def key(self) -> tuple:
        """Everything that changes the picture, hashable: the window redraws when it changes."""
        return (self.background, self.line_width, self.output_boundary, self.shown.tobytes(), self.highlighted,
                self.domain, self.contrast, self.shading, self.solo, self.probe)

    # ---- neurons -------------------------------------------------------------------------------

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

    # ---- background ----------------------------------------------------------------------------

    def toggle_target_view(self) -> None:
        self.background = "prediction" if self.background == "target" else "target"

    def toggle_error_view(self) -> None:
        self.background = "prediction" if self.background == "error" else "error"

    def toggle_regions_view(self) -> None:
        self.background = "prediction" if self.background == "regions" else "regions"

    def toggle_solo(self, index: int) -> None:
        """Show neuron `index` alone (its line and its active side), or everything again."""
        self.solo = None if self.solo == index else index

    def toggle_contrast(self) -> None:
        self.contrast = "none" if self.contrast == "stretch" else "stretch"

    # ---- the shown rectangle -------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        """1 shows a unit-wide rectangle ([0,1]^2 by default); 2 shows half as wide."""
        return 1.0 / (self.domain[2] - self.domain[0])

    def zoom_about(self, point: tuple[float, float], factor: float) -> None:
        """Zoom by `factor` keeping the input-plane `point` (under the mouse) where it is."""
        x0, y0, x1, y1 = self.domain
        span = float(np.clip((x1 - x0) / factor, MIN_SPAN, MAX_SPAN))
        ratio = span / (x1 - x0)
        px, py = point
        self.domain = (px + (x0 - px) * ratio, py + (y0 - py) * ratio,
                       px + (x1 - px) * ratio, py + (y1 - py) * ratio)

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) in input-plane units."""
        x0, y0, x1, y1 = self.domain
        self.domain = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)

    @property
    def home(self) -> tuple[float, float, float, float]:
        """The square the view shows at first and after a reset: the whole picture, centred."""
        return fit_domain(self.extent)

    def reset_domain(self) -> None:
        self.domain = self.home


def fit_domain(extent: tuple[float, float], aspect: float = 1.0) -> tuple[float, float, float, float]:
    """The smallest rectangle of `aspect` (width / height) that holds the data's rectangle, centred on it:
    (0, 0, 1, 1) for a square picture in a square view; a wide picture in a square view is letterboxed."""
    width, height = extent
    if width / height < aspect:
        width = height * aspect
    else:
        height = width / aspect
    cx, cy = extent[0] / 2, extent[1] / 2
    return (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def parse_domain(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise UserError(f"--domain {text!r} is not four numbers X0,Y0,X1,Y1; use e.g. "
                        "--domain 0,0,1,1 (the data domain) or -0.5,-0.5,1.5,1.5")
    x0, y0, x1, y1 = values
    if not (x1 > x0 and y1 > y0):
        raise UserError(f"--domain {text!r} is empty; X1 must exceed X0 and Y1 exceed Y0")
    if max(abs(v) for v in values) > MAX_COORDINATE or min(x1 - x0, y1 - y0) < MIN_DOMAIN_SPAN:
        raise UserError(f"--domain {text!r} is beyond what float32 pixels can show; keep the numbers within "
                        f"+-{MAX_COORDINATE:g} and each side at least {MIN_DOMAIN_SPAN:g} wide")
    return values  # type: ignore[return-value]


def view_for(view: ViewSettings, sizes: list[int]) -> ViewSettings:
    """The same view settings for a network of another shape (runs side by side): the lines of its
    neurons shown by layer and index where the first network has them, the rest shown."""
    if list(sizes) == list(view.sizes):
        return view
    shown = np.ones(hidden_count(sizes), dtype=bool)
    for layer, (width, start) in enumerate(zip(hidden_widths(sizes), layer_offsets(sizes))):
        if layer < len(hidden_widths(view.sizes)):
            theirs = view.shown[view.layer_slice(layer)]
            shown[start:start + min(width, len(theirs))] = theirs[:width]
    return replace(view, sizes=list(sizes), shown=shown, highlighted=None, solo=None, probe=None)


MAX_CELLS = 9  # runs side by side: a 3x3 grid


def grid_shape(count: int) -> tuple[int, int]:
    """(columns, rows) of a grid of `count` runs side by side: 1x1, 2x1, 2x2 for four, 3x3 for nine."""
    columns = math.ceil(math.sqrt(count))
    return columns, math.ceil(count / columns)
