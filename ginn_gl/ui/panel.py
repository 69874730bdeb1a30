"""The Dear ImGui panel: loss plot, history slider, playback, view options, neuron toggles,
network diagram and status. Its widgets edit the Settings (and pause or resume the trainer, which
only sets the trainer's events); requests such as a restart are carried out by the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from imgui_bundle import imgui, implot

from ginn_gl.core.history import Snapshot
from ginn_gl.core.network import split_parameters
from ginn_gl.core.palette import INPUT_NODE, OUTPUT_BOUNDARY, family_name, neuron_colours
from ginn_gl.core.progress import State
from ginn_gl.core.selection import hidden_widths, layer_offsets, locate
from ginn_gl.core.view import DEFAULT_DOMAIN, VIEWS
from ginn_gl.ui.viewstate import KEYMAP, MAX_SPEED, MIN_SPEED, MOUSE_HELP, X_AXES, Settings

PLOT_POINTS = 2000  # the minibatch curve is shown as at most this many bucket means
MAX_EDGES = 3000  # an edge per weight; a larger network shows its strongest 3000
POSITIVE_EDGE = (0.86, 0.88, 0.95)
NEGATIVE_EDGE = (1.0, 0.55, 0.18)

@dataclass
class PanelInput:
    """What the panel shows this frame, read by the app."""

    history: object  # History
    snapshot: Snapshot | None  # the snapshot shown (None while the history is empty)
    activation: str
    trainer: object | None  # the Trainer, or None when replaying
    seed: int
    device: str
    frame_ms: float
    view_ms: float
    title: str
    view_path: str = "fragment"  # the shader that draws the view: fragment or compute


@dataclass
class Panel:
    sizes: list[int]
    width: float = 470.0  # logical pixels
    seed_field: int = 0
    button_rects: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    seed_rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # where to click to type a seed
    _plot_key: object = None
    _plot: dict = field(default_factory=dict)
    _edges_key: object = None
    _edge_cache: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.colours = neuron_colours(self.sizes)
        self.flat_colours = np.concatenate(self.colours) if self.colours else np.zeros((0, 3))

    # ---- the whole panel ---------------------------------------------------------------------

    def build(self, settings: Settings, data: PanelInput, x: float, height: float) -> None:
        """Lay out the panel at the right edge."""
        settings.view.highlighted = None  # until a hovered neuron sets it again
        imgui.set_next_window_pos((x, 0.0))
        imgui.set_next_window_size((self.width, height))
        flags = (imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize
                 | imgui.WindowFlags_.no_collapse | imgui.WindowFlags_.no_saved_settings)
        imgui.begin(data.title, None, flags)
        self._training(settings, data)
        self._loss_plot(settings, data)
        self._history(settings, data)
        self._view(settings)
        self._neurons(settings)
        self._diagram(settings, data)
        self._status(data)
        imgui.end()

    # ---- sections ----------------------------------------------------------------------------

    def _training(self, settings: Settings, data: PanelInput) -> None:
        trainer = data.trainer
        if trainer is None:
            imgui.text_disabled("Replaying a recorded run: no training.")
            return
        progress = trainer.progress()
        fraction = progress.step / progress.total if progress.total else 1.0
        imgui.progress_bar(fraction, (-1.0, 0.0), f"step {progress.step:,} of {progress.total:,}"
                                                  f"  ({progress.state.value})")
        if progress.state == State.RUNNING:
            if imgui.button("Pause"):
                trainer.pause()
        elif progress.state == State.PAUSED:
            if imgui.button("Resume"):
                trainer.resume()
        else:
            imgui.begin_disabled()
            imgui.button("Done")
            imgui.end_disabled()
        imgui.same_line()
        if imgui.button("Restart"):
            settings.request_restart()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Train again from a fresh network with the same seed (R).\n"
                              "The current run is discarded, not saved.")
        imgui.same_line()
        imgui.set_next_item_width(110)
        _, self.seed_field = imgui.input_int("##seed", self.seed_field)
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.seed_rect = (lo.x, lo.y, hi.x, hi.y)
        self.seed_field = max(0, self.seed_field)
        imgui.same_line()
        if imgui.button("Restart with seed"):
            settings.request_restart(self.seed_field)
        if trainer.message:
            imgui.text_wrapped(trainer.message)

    def _plot_data(self, data: PanelInput) -> dict:
        history = data.history
        key = (id(history), history.version, history.losses.last_step)
        if key != self._plot_key:
            steps = history.steps()
            snap_loss = history.snapshot_losses()
            loss_steps, loss = history.losses.arrays()
            if len(loss) > PLOT_POINTS:
                cut = len(loss) - len(loss) % PLOT_POINTS
                width = cut // PLOT_POINTS
                loss_steps = loss_steps[width - 1:cut:width]
                loss = loss[:cut].reshape(PLOT_POINTS, width).mean(axis=1)
            self._plot = {"steps": steps.astype(np.float64), "snap_loss": snap_loss.astype(np.float64),
                          "loss_steps": loss_steps.astype(np.float64), "loss": loss.astype(np.float64)}
            self._plot_key = key
        return self._plot

    def _loss_plot(self, settings: Settings, data: PanelInput) -> None:
        imgui.separator_text("Loss")
        plot = self._plot_data(data)
        steps, snap_loss = plot["steps"], plot["snap_loss"]
        if settings.x_axis == "snapshot":
            snap_x = np.arange(len(steps), dtype=np.float64)
            loss_x = np.interp(plot["loss_steps"], steps, snap_x) if len(steps) > 1 else plot["loss_steps"]
        else:
            snap_x, loss_x = steps, plot["loss_steps"]
        loss_y = plot["loss"]
        if settings.x_axis == "log step":  # a log axis has no room for step 0
            keep = snap_x > 0
            snap_x, snap_loss = snap_x[keep], snap_loss[keep]
            keep = loss_x > 0
            loss_x, loss_y = loss_x[keep], loss_y[keep]
        flags = implot.Flags_.no_menus | implot.Flags_.no_box_select | implot.Flags_.no_mouse_text
        if implot.begin_plot("##loss", (-1.0, 170.0), flags):
            auto = implot.AxisFlags_.auto_fit
            implot.setup_axes("snapshot" if settings.x_axis == "snapshot" else "step", "loss", auto, auto)
            implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
            if settings.x_axis == "log step":
                implot.setup_axis_scale(implot.ImAxis_.x1, implot.Scale_.log10)
            if len(loss_x) > 1:
                faint = implot.Spec()
                faint.line_color = imgui.ImVec4(0.62, 0.62, 0.70, 0.45)
                implot.plot_line("minibatch", loss_x, np.maximum(loss_y, 1e-9), faint)
            if len(snap_x) > 0:
                full = implot.Spec()
                full.line_color = imgui.ImVec4(0.35, 0.75, 1.0, 1.0)
                full.line_weight = 2.0
                implot.plot_line("full image", snap_x, np.maximum(snap_loss, 1e-9), full)
            if data.snapshot is not None and len(steps):
                at = data.snapshot.step
                shown = float(np.searchsorted(steps, at) if settings.x_axis == "snapshot" else at)
                marker = implot.Spec()
                marker.line_color = imgui.ImVec4(1.0, 0.85, 0.2, 0.9)
                implot.plot_inf_lines("shown", np.array([max(shown, 1e-9)]), marker)
            if implot.is_plot_hovered() and imgui.is_mouse_down(imgui.MouseButton_.left) and len(steps):
                x = implot.get_plot_mouse_pos().x
                if settings.x_axis == "snapshot":
                    index = int(np.clip(round(x), 0, len(steps) - 1))
                else:
                    index = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
                    if index > 0 and abs(steps[index - 1] - x) < abs(steps[index] - x):
                        index -= 1
                settings.playing = False
                settings.seek(int(steps[index]))
            implot.end_plot()
        for i, axis in enumerate(X_AXES):
            if i:
                imgui.same_line()
            if imgui.radio_button(f"x: {axis}" if i == 0 else axis, settings.x_axis == axis):
                settings.x_axis = axis

    def _history(self, settings: Settings, data: PanelInput) -> None:
        imgui.separator_text("History")
        snapshot = data.snapshot
        if snapshot is None:
            imgui.text_disabled("no snapshot yet")
            return
        steps = self._plot_data(data)["steps"]  # this frame's copy: slider positions map to steps
        position = int(np.clip(np.searchsorted(steps, snapshot.step), 0, len(steps) - 1))
        imgui.set_next_item_width(-1)
        changed, value = imgui.slider_int("##history", position, 0, len(steps) - 1,
                                          f"step {snapshot.step:,}   loss {snapshot.loss:.4f}")
        if changed:
            settings.playing = False
            settings.seek(int(steps[value]))
        if imgui.button("|<"):
            settings.first()
        imgui.same_line()
        if imgui.button("<"):
            settings.step_back()
        imgui.same_line()
        if imgui.button("Pause" if settings.playing else "Play", (60, 0)):
            settings.toggle_play()
        imgui.same_line()
        if imgui.button(">"):
            settings.step_forward()
        imgui.same_line()
        live_colour = (0.15, 0.55, 0.25, 1.0) if settings.follow_live else (0.30, 0.30, 0.34, 1.0)
        imgui.push_style_color(imgui.Col_.button, live_colour)
        if imgui.button("Live"):
            settings.go_live()
        imgui.pop_style_color()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Follow the newest snapshot (End)")
        imgui.same_line()
        imgui.set_next_item_width(-1)
        _, settings.speed = imgui.slider_float("##speed", settings.speed, MIN_SPEED, MAX_SPEED, "%.1f snapshots/s",
                                               imgui.SliderFlags_.logarithmic)
        imgui.text_disabled(f"snapshot {snapshot.index + 1} of {snapshot.count}"
                            + ("  (following live)" if settings.follow_live else ""))

    def _view(self, settings: Settings) -> None:
        imgui.separator_text("View")
        view = settings.view
        for i, name in enumerate(VIEWS):
            if i:
                imgui.same_line()
            if imgui.radio_button(name, view.view == name):
                view.view = name
        imgui.same_line()
        _, view.output_boundary = imgui.checkbox("p = 0.5 line", view.output_boundary)
        imgui.set_next_item_width(150)
        _, view.line_width = imgui.slider_float("line width", view.line_width, 0.5, 6.0, "%.1f px")
        imgui.same_line()
        if imgui.button("Reset zoom"):
            view.reset_domain()
        if view.domain != DEFAULT_DOMAIN:
            imgui.same_line()
            imgui.text_disabled(f"x{view.zoom:.2g}")

    def _neurons(self, settings: Settings) -> None:
        imgui.separator_text("Neurons")
        view = settings.view
        if imgui.button("All"):
            view.set_all(True)
        imgui.same_line()
        if imgui.button("None"):
            view.set_all(False)
        imgui.same_line()
        imgui.text_disabled(f"{int(view.shown.sum())} of {len(view.shown)} lines")
        self.button_rects = {}
        size = 17.0
        offsets = layer_offsets(self.sizes)
        for layer, width in enumerate(hidden_widths(self.sizes)):
            imgui.push_id(f"layer{layer}")
            imgui.align_text_to_frame_padding()
            imgui.text(f"L{layer + 1}")
            imgui.same_line()
            if imgui.small_button("all"):
                view.set_layer(layer, True)
            imgui.same_line()
            if imgui.small_button("none"):
                view.set_layer(layer, False)
            right = imgui.get_cursor_screen_pos().x + imgui.get_content_region_avail().x
            imgui.same_line()
            for neuron in range(width):
                index = offsets[layer] + neuron
                on = bool(view.shown[index])
                r, g, b = self.flat_colours[index]
                colour = imgui.ImVec4(r, g, b, 1.0) if on else imgui.ImVec4(r * 0.3, g * 0.3, b * 0.3, 1.0)
                if imgui.color_button(f"##n{index}", colour, imgui.ColorEditFlags_.no_tooltip, (size, size)):
                    view.toggle_neuron(index)
                lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
                self.button_rects[index] = (lo.x, lo.y, hi.x, hi.y)
                if imgui.is_item_hovered():
                    view.highlighted = index
                    imgui.set_tooltip(f"layer {layer + 1} ({family_name(layer)}), neuron {neuron}: "
                                      f"{'shown' if on else 'hidden'}; click to toggle")
                if neuron + 1 < width and hi.x + 2 * size < right:
                    imgui.same_line(0.0, 2.0)
            imgui.pop_id()

    def _edges(self, data: PanelInput) -> list[tuple[float, float, float, float, int, float]]:
        """The diagram's edges for the shown snapshot, computed once per snapshot: (x0, y0, x1, y1)
        as fractions of the diagram's box, colour (ImU32) and thickness."""
        snapshot = data.snapshot
        key = (id(data.history), snapshot.step) if snapshot is not None else None
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

    def _diagram(self, settings: Settings, data: PanelInput) -> None:
        imgui.separator_text("Network")
        avail = imgui.get_content_region_avail()
        height = 210.0
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
        for x0, y0, x1, y1, colour, thickness in self._edges(data):
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
                r, g, b = self.flat_colours[index]
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

    def _status(self, data: PanelInput) -> None:
        imgui.separator_text("Status")
        history = data.history
        trainer = data.trainer
        if trainer is not None:
            progress = trainer.progress()
            imgui.text(f"{data.device}   {progress.steps_per_second:,.0f} steps/s   "
                       f"{progress.step_ms * 1000:.0f} us/step")
            imgui.text(f"minibatch loss {progress.loss:.4f}")
        else:
            imgui.text(data.device)
        imgui.text(f"frame {data.frame_ms:.1f} ms   view {data.view_ms:.1f} ms ({data.view_path} shader)")
        imgui.text(f"{len(history):,} snapshots, {history.used_bytes / 2**20:.1f} of {history.nbytes / 2**20:.0f} MB"
                   + (f", thinned {history.thinned}x" if history.thinned else ""))
        imgui.text_disabled("F1 or ? shows the keys")


def build_help(x: float, y: float, width: float) -> None:
    """The keymap (and the mouse), over the view."""
    imgui.set_next_window_pos((x, y))
    imgui.set_next_window_size((width, 0.0))
    imgui.set_next_window_bg_alpha(0.92)
    flags = (imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize | imgui.WindowFlags_.no_collapse
             | imgui.WindowFlags_.no_saved_settings | imgui.WindowFlags_.always_auto_resize)
    imgui.begin("Keys (F1 or ? to close)", None, flags)
    if imgui.begin_table("keys", 2):
        for key, what in [(binding.label, binding.help) for binding in KEYMAP] + [MOUSE_HELP]:
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text(key)
            imgui.table_next_column()
            imgui.text(what)
        imgui.end_table()
    imgui.end()
