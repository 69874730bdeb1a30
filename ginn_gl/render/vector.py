"""A snapshot as a vector figure (SVG): sharp at any zoom, each line an element of its own.

The regions view is all vector: each linear region a <polygon> in its colour (Partition.colours(), the
shader's), slope shading and a solo neuron's tint per region, the part beyond the picture dimmed by one
path over it. The other views' backgrounds (prediction, target, error) are drawn by the renderer at
the figure's size without lines and embedded as a PNG under the lines. Each line is a <path> of its
exact segments (core.strokes): id "n2-7" for layer 2's neuron 7, "output" and "output-halo" for the
p = 0.5 boundary. Plain numpy and the standard library's xml escaping.
"""

from __future__ import annotations

import base64
import io
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from ginn_gl.core.palette import neuron_colours
from ginn_gl.core.partition import Partition, partition
from ginn_gl.core.runfile import Run
from ginn_gl.core.strokes import strokes, to_pixels
from ginn_gl.core.view import ViewSettings

OUTSIDE = (0.09, 0.09, 0.12)  # network.glsl's colour beyond the data domain
OUTSIDE_MIX, SOLO_MIX = 0.55, 0.3  # ... and how much of it, and of a solo neuron's colour, it mixes in
SEAM = 0.5  # px: each polygon's outline in its own colour, so no background shows between neighbours


def number(value: float) -> str:
    """A coordinate in pixels: 3 decimals, no trailing zeros (a thousandth of a pixel at any zoom needed)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def hex_colour(rgb) -> str:
    """#rrggbb from 0..1 floats, or from uint8 values."""
    values = np.asarray(rgb)
    if values.dtype != np.uint8:
        values = np.round(np.clip(values.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    return "#" + "".join(f"{int(v):02x}" for v in values[:3])


def polygon_points(part: Partition, region: int, domain, size) -> str:
    verts = part.vertices[part.starts[region]:part.starts[region + 1]]
    pixels = to_pixels(np.concatenate([verts, verts], axis=1), domain, size)[:, :2]
    return " ".join(f"{number(x)},{number(y)}" for x, y in pixels)


def region_colours(part: Partition, view: ViewSettings) -> np.ndarray:
    """float64 [R, 3]: each region's colour in the regions view, slope-shaded as the shader shades it."""
    colours = part.colours().astype(np.float64) / 255.0
    if view.shading == "gradient":  # the logit's slope in input units, constant in a region
        colours *= (0.3 + 0.7 * (1.0 - np.exp(-np.hypot(*part.slopes.T) / 8.0)))[:, None]
    return colours


def region_elements(part: Partition, view: ViewSettings, size: tuple[int, int]) -> list[str]:
    """Every region a <polygon>; then the dimmed outside of the picture and a solo neuron's tint, a <path> each."""
    width, height = size
    domain = view.domain
    elements = []
    for region, colour in enumerate(region_colours(part, view)):
        fill = hex_colour(colour)
        elements.append(f'<polygon points="{polygon_points(part, region, domain, size)}" fill="{fill}" '
                        f'stroke="{fill}" stroke-width="{SEAM}" stroke-linejoin="round"/>')
    x0, y0, x1, y1 = domain
    data_width, data_height = view.extent
    if x0 < 0 or y0 < 0 or x1 > data_width or y1 > data_height:  # the view minus the picture, dimmed (even-odd)
        unit = to_pixels(np.array([[0.0, 0.0, data_width, data_height]]), domain, size)[0]
        hole = f"M{number(unit[0])} {number(unit[1])}H{number(unit[2])}V{number(unit[3])}H{number(unit[0])}Z"
        elements.append(f'<path id="outside" d="M0 0H{width}V{height}H0Z {hole}" fill="{hex_colour(OUTSIDE)}" '
                        f'fill-opacity="{OUTSIDE_MIX}" fill-rule="evenodd"/>')
    if view.solo is not None:  # its active side, tinted in its colour
        active = np.flatnonzero(part.patterns[:, view.solo])
        d = " ".join(f"M{polygon_points(part, r, domain, size).replace(' ', 'L')}Z" for r in active.tolist())
        colour = hex_colour(np.concatenate(neuron_colours(list(part.sizes)))[view.solo])
        elements.append(f'<path id="solo-side" d="{d}" fill="{colour}" fill-opacity="{SOLO_MIX}"/>')
    return elements


def stroke_elements(part: Partition, view: ViewSettings, size: tuple[int, int]) -> list[str]:
    """Each line a <path> of its segments: one path per neuron, so its joints are not painted twice."""
    elements = []
    for stroke in strokes(part, view):
        d = "".join(f"M{number(a)} {number(b)}L{number(c)} {number(e)}"
                    for a, b, c, e in to_pixels(stroke.segments, view.domain, size))
        opacity = "" if stroke.opacity == 1.0 else f' stroke-opacity="{stroke.opacity:g}"'
        elements.append(f'<path id="{stroke.name}" d="{d}" fill="none" stroke="{hex_colour(stroke.colour)}" '
                        f'stroke-width="{stroke.width:g}"{opacity} stroke-linecap="round" stroke-linejoin="round"/>')
    return elements


def png_data(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def svg_document(part: Partition, view: ViewSettings, size: tuple[int, int], background: np.ndarray | None,
                 title: str = "") -> str:
    """The figure: the regions as polygons (background None) or the background's pixels [H, W, 3] as an
    embedded PNG, then the lines."""
    width, height = size
    body = region_elements(part, view, size) if background is None else \
        [f'<image width="{width}" height="{height}" href="{png_data(background)}" preserveAspectRatio="none"/>']
    lines = stroke_elements(part, view, size)
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>" if title else "",
        f'<g id="background" data-view={quoteattr(view.background)}>', *body, "</g>",
        '<g id="lines">', *lines, "</g>", "</svg>", ""])


def svg_of_run(run: Run, index: int, size: tuple[int, int], view: ViewSettings, title: str = "") -> str:
    """Snapshot `index` of `run` as an SVG document (the non-regions backgrounds drawn through EGL)."""
    part = partition(run.weights[index], run.layers, run.activation, view.domain)
    background = None
    if view.background != "regions":
        from ginn_gl.render.context import headless_context
        from ginn_gl.render.renderer import NetworkRenderer, render_image

        ctx = headless_context()
        renderer = NetworkRenderer(ctx, run.layers, run.activation)
        try:
            renderer.set_weights(run.weights[index])
            renderer.set_target(run.target_at(int(run.steps[index])))  # the version in force at the step
            background = render_image(ctx, renderer, size, view, channels=3, lines=False)
        finally:
            renderer.release()
            ctx.release()
    return svg_document(part, view, size, background, title)
