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
from ginn_gl.ui.controls import Settings

MAX_EDGES = 3000
THUMBNAIL = 160  # logical pixels a side: the hovered neuron's activation, drawn per pixel
POSITIVE_EDGE = (0.86, 0.88, 0.95)
NEGATIVE_EDGE = (1.0, 0.55, 0.18)


Edge = tuple[float, float, float, float, int, float]  # x0, y0, x1, y1 (fractions of the box), colour, thickness


class Diagram:
    def __init__(self, sizes: list[int]):
        self.sizes = sizes
        self.colours = np.concatenate(neuron_colours(sizes))
        self._edges_key: tuple[int, bytes] | None = None
        self._edge_cache: list[Edge] = []
        self.node_centres: dict[int, tuple[float, float]] = {}  # hidden neuron -> where it was drawn

    def _edges(self, snapshot: Snapshot | None) -> list[Edge]:
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

    def build(self, settings: Settings, snapshot: Snapshot | None, height: float,
              thumbnail: int | None = None) -> int | None:
        """The diagram, `height` pixels tall. Hovering a node highlights its line and shows its
        activation over the view (the `thumbnail` texture, drawn by the app for the neuron this
        returns); a click toggles its line, Ctrl+click shows it alone, its incoming weights lit."""
        avail = imgui.get_content_region_avail()
        origin = imgui.get_cursor_screen_pos()
        imgui.invisible_button("##diagram", (max(avail.x, 10.0), height))
        hovered_area = imgui.is_item_hovered()
        clicked = imgui.is_item_clicked(imgui.MouseButton_.left)
        draw = imgui.get_window_draw_list()
        columns = len(self.sizes)
        left, span = origin.x + 14, max(avail.x, 10.0) - 28
        top, solo = origin.y, settings.view.solo
        offsets = layer_offsets(self.sizes)

        def at(x: float, y: float) -> tuple[float, float]:
            return left + span * x, top + height * y

        fade = 0.3 if solo is not None else 1.0  # the other edges fade while one neuron is alone
        for x0, y0, x1, y1, colour, thickness in self._edges(snapshot):
            alpha = int((colour >> 24) * fade) << 24
            draw.add_line(at(x0, y0), at(x1, y1), alpha | (colour & 0xFFFFFF), thickness)
        if solo is not None and snapshot is not None:
            self._incoming(draw, at, snapshot, solo)
        mouse = imgui.get_mouse_pos()
        radius = max(2.5, min(6.0, 0.42 * height / max(self.sizes)))
        probe, nearest = None, (radius + 2) ** 2  # the one node nearest the pointer: in a short diagram they touch
        for column, n in enumerate(self.sizes):
            for i in range(n):
                centre = at(column / (columns - 1), (i + 0.5) / n)
                if column in (0, columns - 1):
                    rgb, name = (INPUT_NODE, "xy"[i]) if column == 0 else (OUTPUT_BOUNDARY, "p")
                    draw.add_circle_filled(centre, radius, imgui.get_color_u32(imgui.ImVec4(*rgb, 1)))
                    draw.add_text((centre[0] - 4, centre[1] - radius - 14), imgui.get_color_u32(
                        imgui.ImVec4(*rgb, 1)), name)
                    continue
                index = offsets[column - 1] + i
                self.node_centres[index] = centre
                r, g, b = self.colours[index]
                on = bool(settings.view.shown[index])
                if on:
                    draw.add_circle_filled(centre, radius, imgui.get_color_u32(imgui.ImVec4(r, g, b, 1)))
                else:
                    draw.add_circle_filled(centre, radius, imgui.get_color_u32(imgui.ImVec4(0.12, 0.12, 0.14, 1)))
                    draw.add_circle(centre, radius, imgui.get_color_u32(imgui.ImVec4(r, g, b, 0.8)), 0, 1.2)
                if index == solo:
                    draw.add_circle(centre, radius + 3, imgui.get_color_u32(imgui.ImVec4(1, 0.85, 0.2, 1)), 0, 2.0)
                distance = (mouse.x - centre[0]) ** 2 + (mouse.y - centre[1]) ** 2
                if hovered_area and distance <= nearest:
                    probe, nearest = index, distance
        if probe is not None:
            settings.view.highlighted = probe
            self._tooltip(probe, bool(settings.view.shown[probe]), thumbnail)
            if clicked and imgui.get_io().key_ctrl:
                settings.view.toggle_solo(probe)
            elif clicked:
                settings.view.toggle_neuron(probe)
        return probe

    def _tooltip(self, index: int, on: bool, thumbnail: int | None) -> None:
        layer, neuron = locate(self.sizes, index)
        imgui.begin_tooltip()
        imgui.text(f"layer {layer}, neuron {neuron}: {'shown' if on else 'hidden'}")
        imgui.text_disabled("its activation over the view; click: toggle, Ctrl+click: alone")
        if thumbnail is not None:  # the app draws it for the neuron returned by build(), this frame
            side = THUMBNAIL * imgui.get_style().font_scale_dpi
            imgui.image(imgui.ImTextureRef(thumbnail), (side, side), (0, 1), (1, 0))  # GL rows: bottom first
        imgui.end_tooltip()

    def _incoming(self, draw, at, snapshot: Snapshot, index: int) -> None:
        """The solo neuron's incoming weights, bright and as thick as their weight."""
        layer, neuron = locate(self.sizes, index)  # layer is 1-based: its weights are layer_slices[layer - 1]
        w, _ = split_parameters(snapshot.weights, self.sizes)[layer - 1]
        row = w[neuron]
        scale = float(np.abs(row).max()) or 1.0
        columns, n_in = len(self.sizes), self.sizes[layer - 1]
        end = at(layer / (columns - 1), (neuron + 0.5) / self.sizes[layer])
        for j, value in enumerate(row):
            r, g, b = POSITIVE_EDGE if value > 0 else NEGATIVE_EDGE
            draw.add_line(at((layer - 1) / (columns - 1), (j + 0.5) / n_in), end,
                          imgui.get_color_u32(imgui.ImVec4(r, g, b, 1.0)), 1.0 + 3.5 * abs(value) / scale)
