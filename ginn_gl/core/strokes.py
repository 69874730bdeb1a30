"""The view's lines as geometry: what shaders/network.glsl draws per pixel, as strokes of exact segments
(core.partition). Each shown hidden neuron's boundary in its colour (core.palette) at the line width,
in neuron order; the output's p = 0.5 boundary, white over a dark halo; the highlighted neuron last,
thicker: the order the shader composes them in. Read by the vector figure (render/vector.py) and the
window's line layer on a CPU rasteriser (render/lines.py). Plain numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ginn_gl.core.palette import OUTPUT_BOUNDARY, neuron_colours
from ginn_gl.core.partition import Partition
from ginn_gl.core.selection import locate
from ginn_gl.core.view import OUTPUT_HALO, OUTPUT_WIDTH, ViewSettings

HALO_OPACITY = 0.75  # as network.glsl draws the dark halo under the p = 0.5 line


@dataclass(frozen=True)
class Stroke:
    """One neuron's boundary (or the output's, or its halo): segments drawn alike."""

    name: str  # "n2-7" (layer 2, neuron 7), "output" or "output-halo"
    segments: np.ndarray  # float64 [M, 4]: x0, y0, x1, y1 in the input plane
    colour: tuple[float, float, float]  # RGB, 0..1
    width: float  # pixels
    opacity: float = 1.0
    neuron: int | None = None  # the flat hidden-neuron index, for a neuron's stroke


def neuron_name(sizes: list[int], index: int) -> str:
    layer, neuron = locate(sizes, index)
    return f"n{layer}-{neuron}"


def strokes(part: Partition, view: ViewSettings) -> list[Stroke]:
    """The strokes of `view`'s lines over `part`, in drawing order (empty ones left out)."""
    sizes = list(part.sizes)
    colours = np.concatenate(neuron_colours(sizes))
    shown = view.shown if view.solo is None else np.arange(len(colours)) == view.solo  # alone: only its line
    by_neuron = np.argsort(part.segment_neurons, kind="stable")
    bounds = np.searchsorted(part.segment_neurons[by_neuron], np.arange(len(colours) + 1))

    def neuron(index: int, width: float) -> Stroke:
        segments = part.neuron_segments[by_neuron[bounds[index]:bounds[index + 1]]]
        rgb = tuple(float(c) for c in colours[index])
        return Stroke(neuron_name(sizes, index), segments, rgb, width, neuron=index)  # type: ignore[arg-type]

    drawn = [neuron(int(i), view.line_width) for i in np.flatnonzero(shown) if i != view.highlighted]
    if view.output_boundary:
        drawn += [Stroke("output-halo", part.output_segments, (0.0, 0.0, 0.0), OUTPUT_HALO, HALO_OPACITY),
                  Stroke("output", part.output_segments, OUTPUT_BOUNDARY, OUTPUT_WIDTH)]
    if view.highlighted is not None and 0 <= view.highlighted < len(colours):
        drawn.append(neuron(view.highlighted, view.highlight_width))
    return [stroke for stroke in drawn if len(stroke.segments)]


def to_pixels(segments: np.ndarray, domain: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    """Input-plane segments [M, 4] -> pixels of a `size` (width, height) view of `domain` (x0, y0 at the
    top left), x right and y down, float64."""
    x0, y0, x1, y1 = domain
    scale = np.array([size[0] / (x1 - x0), size[1] / (y1 - y0)] * 2)
    return (np.asarray(segments, dtype=np.float64).reshape(-1, 4) - (x0, y0, x0, y0)) * scale

