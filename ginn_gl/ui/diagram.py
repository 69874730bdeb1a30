"""The panel's network diagram: nodes in the layers' colours, an edge per weight coloured by sign and
as thick as the weight (the strongest MAX_EDGES of a large network). Hovering a node highlights its
line in the view; clicking toggles it."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from ginn_gl.core.history import Snapshot
from ginn_gl.core.network import split_parameters
from ginn_gl.core.palette import INPUT_NODE, OUTPUT_BOUNDARY, neuron_colours
from ginn_gl.core.selection import layer_offsets, locate
from ginn_gl.ui.viewstate import Settings

MAX_EDGES = 3000
POSITIVE_EDGE = (0.86, 0.88, 0.95)
NEGATIVE_EDGE = (1.0, 0.55, 0.18)


class Diagram:
    def __init__(self, sizes: list[int]):
        self.sizes = sizes
        self.colours = np.concatenate(neuron_colours(sizes))
        self._edges_key: object = None
        self._edge_cache: list = []

    def _edges(self, snapshot: Snapshot | None) -> list[tuple[float, float, float, float, int, float]]:
        """The diagram's edges for the shown snapshot, computed once per snapshot: (x0, y0, x1, y1)
        as fractions of the diagram's box, colour (ImU32) and thickness."""
        key = None if snapshot is None else (snapshot.step, snapshot.weights.tobytes())
        if key == self._edges_key:
            return self._edge_cache
        edges = []
        layers = split_parameters(snapshot.weights, self.sizes) if snapshot is not None else []
        total = sum(w.size for w, _ in layers)
        cut = 0.0
        if total > MAX_EDGES:  # a large network: only its strongest weights
            magnitudes = np.concatenate([np.abs(w).ravel() for w, _ in layers])
            cut = float(np.partition(magnitudes, total - MAX_EDGES)[total - MAX_EDGES])
        columns = len(self.sizes)
        for layer, (w, _) in enumerate(layers):
            scale = float(np.abs(w).max()) or 1.0
            k, j = np.nonzero(np.abs(w) >= cut)
            strength = w[k, j] / scale
            x0, x1 = layer / (columns - 1), (layer + 1) / (columns - 1)
            y0 = (j + 0.5) / self.sizes[layer]
            y1 = (k + 0.5) / self.sizes[layer + 1]
            for a, b, v in zip(y0.tolist(), y1.tolist(), strength.tolist()):
                r, g, bl = POSITIVE_EDGE if v > 0 else NEGATIVE_EDGE
                alpha = 0.12 + 0.75 * abs(v)
                colour = (int(alpha * 255) << 24) | (int(bl * 255) << 16) | (int(g * 255) << 8) | int(r * 255)
                edges.append((x0, a, x1, b, colour, 0.6 + 2.6 * abs(v)))
        self._edge_cache = edges
        self._edges_key = key
        return edges

    def build(self, settings: Settings, snapshot: Snapshot | None, height: float) -> None:
        """The diagram, `height` pixels tall; hovering a node highlights its line, a click toggles it."""
        avail = imgui.get_content_region_avail()
        origin = imgui.get_cursor_screen_pos()
        imgui.invisible_button("##diagram", (max(avail.x, 10.0), height))
        hovered_area = imgui.is_item_hovered()
        clicked = imgui.is_item_clicked(imgui.MouseButton_.left)
        draw = imgui.get_window_draw_list()
        columns = len(self.sizes)
        left, span = origin.x + 14, max(avail.x, 10.0) - 28
        xs = [left + span * c / (columns - 1) for c in range(columns)]

        def node_y(column: int, i: int) -> float:
            return origin.y + height * (i + 0.5) / self.sizes[column]

        top = origin.y
        for x0, y0, x1, y1, colour, thickness in self._edges(snapshot):
            draw.add_line((left + span * x0, top + height * y0), (left + span * x1, top + height * y1), colour,
                          thickness)
        mouse = imgui.get_mouse_pos()
        radius = max(2.5, min(6.0, 0.42 * height / max(self.sizes)))
        offsets = layer_offsets(self.sizes)
        for column, n in enumerate(self.sizes):
            for i in range(n):
                centre = (xs[column], node_y(column, i))
                if column == 0:
                    draw.add_circle_filled(centre, radius, imgui.get_color_u32(imgui.ImVec4(*INPUT_NODE, 1)))
                    draw.add_text((centre[0] - 4, centre[1] - radius - 14), imgui.get_color_u32(
                        imgui.ImVec4(*INPUT_NODE, 1)), "xy"[i])
                    continue
                if column == columns - 1:
                    draw.add_circle_filled(centre, radius + 1, imgui.get_color_u32(imgui.ImVec4(*OUTPUT_BOUNDARY, 1)))
                    draw.add_text((centre[0] - 3, centre[1] - radius - 15), imgui.get_color_u32(
                        imgui.ImVec4(*OUTPUT_BOUNDARY, 1)), "p")
                    continue
                index = offsets[column - 1] + i
                r, g, b = self.colours[index]
                on = bool(settings.view.shown[index])
                if on:
                    draw.add_circle_filled(centre, radius, imgui.get_color_u32(imgui.ImVec4(r, g, b, 1)))
                else:
                    draw.add_circle_filled(centre, radius, imgui.get_color_u32(imgui.ImVec4(0.12, 0.12, 0.14, 1)))
                    draw.add_circle(centre, radius, imgui.get_color_u32(imgui.ImVec4(r, g, b, 0.8)), 0, 1.2)
                if hovered_area and (mouse.x - centre[0]) ** 2 + (mouse.y - centre[1]) ** 2 <= (radius + 2) ** 2:
                    settings.view.highlighted = index
                    layer, neuron = locate(self.sizes, index)
                    imgui.set_tooltip(f"layer {layer}, neuron {neuron}: {'shown' if on else 'hidden'}; "
                                      "click to toggle")
                    if clicked:
                        settings.view.toggle_neuron(index)
