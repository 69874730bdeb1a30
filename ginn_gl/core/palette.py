"""Neuron colours: one hue family per layer, as in the original GINN (layer 1 blues, layer 2 reds,
layer 3 greens), with shades spread over hue and lightness so 16 neurons of a layer stay apart.

One function, used by the renderer's lines, the panel's toggle buttons and the network diagram.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

# (first hue, last hue) in degrees; the first three bracket the original's colours
# (#00b6ff..#0078ff, #ff623f..#ff1f00, #c3ff17..#63ee03).
LAYER_FAMILIES = [
    ("blues", 186.0, 232.0),
    ("reds", -10.0, 24.0),
    ("greens", 68.0, 120.0),
    ("purples", 255.0, 300.0),
    ("oranges", 24.0, 44.0),
    ("teals", 158.0, 192.0),
    ("pinks", 305.0, 342.0),
    ("yellows", 44.0, 66.0),
]
LIGHTNESS_LEVELS = (0.50, 0.66, 0.38, 0.78)  # alternated so neighbours differ in lightness too
OUTPUT_BOUNDARY = (1.0, 1.0, 1.0)  # drawn with a dark halo, so it reads on white and on black
INPUT_NODE = (0.75, 0.75, 0.78)


def family_name(layer: int) -> str:
    """Layer is 0-based among hidden layers."""
    return LAYER_FAMILIES[layer % len(LAYER_FAMILIES)][0]


def layer_colours(layer: int, count: int) -> np.ndarray:
    """RGB in 0..1, float32 [count, 3], for the `count` neurons of hidden layer `layer` (0-based)."""
    _, first, last = LAYER_FAMILIES[layer % len(LAYER_FAMILIES)]
    levels = min(len(LIGHTNESS_LEVELS), max(1, math.ceil(count / 4)))
    hues = math.ceil(count / levels)
    colours = np.empty((count, 3), dtype=np.float32)
    for i in range(count):
        hue_step, level = divmod(i, levels)
        hue = first + (last - first) * (hue_step / (hues - 1) if hues > 1 else 0.5)
        colours[i] = colorsys.hls_to_rgb((hue % 360.0) / 360.0, LIGHTNESS_LEVELS[level], 1.0)
    return colours


def neuron_colours(sizes: list[int]) -> list[np.ndarray]:
    """Per hidden layer, the colours of its neurons; `sizes` includes inputs and output."""
    return [layer_colours(layer, width) for layer, width in enumerate(sizes[1:-1])]

