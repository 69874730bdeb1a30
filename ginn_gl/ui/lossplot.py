"""The panel's plots (ImPlot) on one step axis: the loss (full-image loss at the snapshots, the
minibatch loss fainter) and the geometry (linear regions, boundary density near the target's edges
and elsewhere), each with a marker at the snapshot shown; clicking or dragging in them seeks."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from ginn_gl.core.history import HistoryRecord
from ginn_gl.ui.controls import X_AXES, Settings

PLOT_POINTS = 2000  # the minibatch curve is shown as at most this many bucket means
EMPTY_LOSS = (0.01, 1.0)  # the y range before there are two points to fit


TARGET_CHANGE = (0.95, 0.35, 0.35)  # the loss plot's mark where the target changed
GEOMETRY_COLOURS = ((0.95, 0.7, 0.3, 1.0), (0.85, 0.45, 0.95, 1.0), (0.45, 0.85, 0.6, 1.0))
# Runs side by side: a colour each, in the loss plot and the regions plot.
SEED_COLOURS = ((0.35, 0.75, 1.0), (1.0, 0.55, 0.25), (0.45, 0.9, 0.45), (0.95, 0.4, 0.7), (0.95, 0.85, 0.3),
                (0.6, 0.5, 1.0), (0.3, 0.9, 0.85), (0.9, 0.3, 0.3), (0.8, 0.8, 0.8))


def log_ticks(low: float, high: float, most: int = 3) -> list[float]:
    """Ticks for a log axis over [low, high]: round numbers, as many as fit in `most` (ImPlot labels only
    whole decades, so a loss between 0.1 and 1 would get no number at all)."""
    if not 0.0 < low < high:
        return []
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1, 1.5, 2, 3, 4, 5, 7), (1, 2, 3, 5), (1, 2, 5), (1, 3), (1,)):  # finest first
        values = [v for k in decades for m in mantissas if low <= (v := round(m * 10.0 ** k, 12)) <= high]
        if len(values) <= most:
            return values
    return values[::-(-len(values) // most)]


STROKE_GAP_PX = 8.0  # target changes closer than this on the loss plot are one stroke: a mark and a band
GEOMETRY_TICKS = 2  # the geometry plot's y axes: three labels touch in its 45 px of height


def strokes(pixels: np.ndarray, gap: float = STROKE_GAP_PX) -> tuple[np.ndarray, np.ndarray]:
    """Target changes at plot x `pixels` (ascending) grouped where each is within `gap` px of the one
    before (a stroke painted over many snapshots): the indices of each group's first and last change."""
    starts = np.flatnonzero(np.diff(pixels, prepend=-np.inf) > gap)
    return starts, (np.append(starts[1:], len(pixels)) - 1) if len(starts) else starts


def linear_ticks(low: float, high: float, most: int = 3) -> list[float]:
    """Round ticks (1, 2 or 5 times a power of ten apart) over [low, high], as many as fit in `most`:
    a plot a few lines tall has room for no more labels than that."""
    if not high > low:
        return [low]
    power = 10.0 ** math.floor(math.log10((high - low) / most))
    for step in (m * power * scale for scale in (1, 10, 100) for m in (1, 2, 5)):
        ticks = np.arange(math.ceil(low / step) * step, high + step * 1e-9, step)
        if len(ticks) <= most:
            return [round(float(v), 12) for v in ticks]
    return [low, high]


def set_ticks(axis: int, values: list[float], labels: list[str] | None = None) -> None:
    if values:
        implot.setup_axis_ticks(axis, values, labels or [f"{v:g}" for v in values])


def compact(value: float) -> str:
    """A step axis label that fits under its tick: 200k, 1.5M, 900."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size and value % (size / 10) == 0:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def setup_step_axis(axis: str, low: float, high: float) -> None:
    """The x axis both plots share, over [low, high]: a little room right of the last point, so the last
    tick's label is not cut at the frame, and labels short enough to fit (200k, not 200000)."""
    if axis == "log step":
        implot.setup_axis_scale(implot.ImAxis_.x1, implot.Scale_.log10)
        implot.setup_axis_limits(implot.ImAxis_.x1, max(low, 1.0), max(high, 10.0) * 1.25, implot.Cond_.always)
        return
    high = max(high, low + 1.0)
    implot.setup_axis_limits(implot.ImAxis_.x1, low, high + 0.05 * (high - low), implot.Cond_.always)
    ticks = linear_ticks(low, high, 4)
    set_ticks(implot.ImAxis_.x1, ticks, [compact(v) for v in ticks])


def measured(record: HistoryRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(steps, regions, density, status) of a record's measured snapshots, as plot values."""
    known = record.measured
    return (record.steps[known].astype(np.float64), record.regions[known].astype(np.float64),
            record.density[known].astype(np.float64), record.status[known])


class LossPlot:
    def __init__(self) -> None:
        self._key: HistoryRecord | None = None  # the record the curves were derived from
        self.data: dict[str, np.ndarray] = {}
        self._geometry_key: HistoryRecord | None = None
        self.geometry: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0),) * 4

    def curves(self, record: HistoryRecord) -> dict[str, np.ndarray]:
        """A record's curves as float64 arrays, derived again only for another record."""
        if record is not self._key:
            steps, snap_loss, loss_steps, loss = record.steps, record.losses, record.loss_steps, record.loss
            if len(loss) > PLOT_POINTS:  # means of `width` entries; the unfinished tail is its own point
                width = -(-len(loss) // PLOT_POINTS)
                cut = len(loss) // width * width
                tail_steps, tail = loss_steps[cut:], loss[cut:]
                loss_steps = np.concatenate([loss_steps[width - 1:cut:width], tail_steps[-1:]])
                loss = np.concatenate([loss[:cut].reshape(-1, width).mean(axis=1), [tail.mean()] if len(tail) else []])
            self.data = {"steps": steps.astype(np.float64), "snap_loss": snap_loss.astype(np.float64),
                         "loss_steps": loss_steps.astype(np.float64), "loss": loss.astype(np.float64)}
            self._key = record
        return self.data

    def measured_geometry(self, record: HistoryRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(steps, regions, density, status) of a record's measured snapshots, derived again for another record."""
        if record is not self._geometry_key:
            self.geometry = measured(record)
            self._geometry_key = record
        return self.geometry

    def _geometry_points(self, settings: Settings, record: HistoryRecord,
                         steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plot x of the measured snapshots at `steps`, and which of them the x axis can show."""
        x = self._x(steps, self.curves(record)["steps"], settings.x_axis)
        return x, (x > 0 if settings.x_axis == "log step" else np.ones(len(x), bool))

    def geometry_shown(self, settings: Settings, record: HistoryRecord) -> bool:
        """Whether the geometry plot has curves to draw: then it labels the step axis for both plots."""
        return int(self._geometry_points(settings, record, self.measured_geometry(record)[0])[1].sum()) >= 2

    def build_geometry(self, settings: Settings, record: HistoryRecord, shown_step: int | None, height: float,
                       others: tuple[tuple[str, HistoryRecord], ...] = ()) -> None:
        """Regions (left axis) and the two densities (right axis) over the same steps; with runs side by
        side (`others`: label, record), each run's regions in its loss plot colour."""
        steps, regions, density, _ = self.measured_geometry(record)
        all_steps = self.curves(record)["steps"]
        x, keep = self._geometry_points(settings, record, steps)
        if keep.sum() < 2:  # nothing to plot yet: say so, in the plot's room
            imgui.begin_child("##geometry-empty", (-1.0, height))
            imgui.text_disabled("Linear regions and boundary density: measured\nbeside training, "
                                "snapshot by snapshot.")
            imgui.end_child()
            return
        flags = (implot.Flags_.no_menus | implot.Flags_.no_box_select | implot.Flags_.no_mouse_text
                 | implot.Flags_.no_legend)  # the coloured names below the plot are its legend
        if implot.begin_plot("##geometry", (-1.0, height), flags):
            auto = implot.AxisFlags_.auto_fit
            implot.setup_axes("", "", implot.AxisFlags_.none, auto)  # the axis choice below names x
            setup_step_axis(settings.x_axis, *self.x_range(settings, record))
            if not others:  # the densities' axis
                implot.setup_axis(implot.ImAxis_.y2, "", auto | implot.AxisFlags_.opposite)
                set_ticks(implot.ImAxis_.y2, linear_ticks(float(density[keep].min()), float(density[keep].max()),
                                                          GEOMETRY_TICKS))
            curves = [("##regions", x[keep], regions[keep], implot.ImAxis_.y1, GEOMETRY_COLOURS[0]),
                      ("##near", x[keep], density[keep, 0], implot.ImAxis_.y2, GEOMETRY_COLOURS[1]),
                      ("##elsewhere", x[keep], density[keep, 1], implot.ImAxis_.y2, GEOMETRY_COLOURS[2])]
            if others:  # one regions curve per run: the densities of nine runs would be a tangle
                curves = []
                for k, (_, run) in enumerate(others):
                    if run is record:
                        r_x, r_regions = x[keep], regions[keep]
                    else:
                        r_steps, r_regions = measured(run)[:2]
                        r_x = self._x(r_steps, all_steps, settings.x_axis)
                        r_keep = r_x > 0 if settings.x_axis == "log step" else np.ones(len(r_x), bool)
                        r_x, r_regions = r_x[r_keep], r_regions[r_keep]
                    curves.append((f"##regions{k}", r_x, r_regions, implot.ImAxis_.y1,
                                   (*SEED_COLOURS[k % len(SEED_COLOURS)], 1.0)))
            counts = np.concatenate([values for *_, values, axis, _ in curves if axis == implot.ImAxis_.y1])
            set_ticks(implot.ImAxis_.y1, linear_ticks(float(counts.min()), float(counts.max()), GEOMETRY_TICKS))
            for label, xs, values, axis, colour in curves:
                implot.set_axes(implot.ImAxis_.x1, axis)
                spec = implot.Spec()
                spec.line_color = imgui.ImVec4(*colour)
                implot.plot_line(label, xs, values, spec)
            self._marker_and_seek(settings, all_steps, shown_step)
            implot.end_plot()

    def x_range(self, settings: Settings, record: HistoryRecord) -> tuple[float, float]:
        """The step axis' extent: the followed run's snapshots (by step, or by index)."""
        steps = self.curves(record)["steps"]
        if settings.x_axis == "snapshot":
            return 0.0, float(max(len(steps) - 1, 1))
        return (float(steps[0]), float(steps[-1])) if len(steps) else (0.0, 1.0)

    @staticmethod
    def _x(steps: np.ndarray, all_steps: np.ndarray, axis: str) -> np.ndarray:
        """Plot x of snapshots at `steps`: their step, or their index among all snapshots."""
        return np.searchsorted(all_steps, steps).astype(np.float64) if axis == "snapshot" else steps

    def _marker_and_seek(self, settings: Settings, steps: np.ndarray, shown_step: int | None) -> None:
        """The shown snapshot's marker; a click or drag in the plot seeks to the snapshot under it."""
        if shown_step is not None and len(steps):
            shown = float(np.searchsorted(steps, shown_step) if settings.x_axis == "snapshot" else shown_step)
            marker = implot.Spec()
            marker.line_color = imgui.ImVec4(1.0, 0.85, 0.2, 0.9)
            implot.set_axes(implot.ImAxis_.x1, implot.ImAxis_.y1)
            implot.plot_inf_lines("shown", np.array([max(shown, 1e-9)]), marker)
        if implot.is_plot_hovered() and imgui.is_mouse_down(imgui.MouseButton_.left) and len(steps):
            settings.playing = False
            settings.seek(int(steps[self._nearest(steps, implot.get_plot_mouse_pos().x, settings.x_axis)]))

    def build(self, settings: Settings, record: HistoryRecord, shown_step: int | None, total_steps: int,
              height: float, others: tuple[tuple[str, HistoryRecord], ...] = (), x_labels: bool = True,
              target_steps: np.ndarray | None = None) -> None:
        """`record`'s curves (the run the slider follows); with runs side by side, `others` holds every
        run's (label, record), `record` among them: a full-image loss curve each, in its colour.
        Without `x_labels` the step axis has no numbers (the geometry plot below gives them)."""
        plot = self.curves(record)
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
        curves = []  # (label, x, y, run is history): the full-image loss of each run, in its colour
        for label, run in (others if others else (("full image", record),)):
            if run is record:
                x, y = snap_x, snap_loss
            else:
                x = self._x(run.steps.astype(np.float64), steps, settings.x_axis)
                y = run.losses.astype(np.float64)
                keep = x > 0 if settings.x_axis == "log step" else np.ones(len(x), bool)
                x, y = x[keep], y[keep]
            curves.append((label, x, np.maximum(y, 1e-9), run is record))
        show_minibatch = len(loss_x) > 1 and not others
        flags = implot.Flags_.no_menus | implot.Flags_.no_box_select | implot.Flags_.no_mouse_text
        if others:  # the cells' labels carry each run's colour: a legend of nine would hide the curves
            flags |= implot.Flags_.no_legend
        if implot.begin_plot("##loss", (-1.0, height), flags):
            fit = max(len(snap_x), len(loss_x)) > 1
            x_flags = implot.AxisFlags_.no_label | (implot.AxisFlags_.none if x_labels else
                                                    implot.AxisFlags_.no_tick_labels)
            implot.setup_axes("", "loss", x_flags, implot.AxisFlags_.none)
            implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
            # One row at the top right, where a falling loss never is; the early, steep part stays visible.
            implot.setup_legend(implot.Location_.north_east, implot.LegendFlags_.horizontal)
            if not fit:  # one point (or none) fits no range: show the run's length and a loss decade
                x_end = {"snapshot": 1.0}.get(settings.x_axis, float(max(total_steps, 10)))
                implot.setup_axes_limits(1.0 if settings.x_axis == "log step" else 0.0, x_end, *EMPTY_LOSS,
                                         implot.Cond_.always)
            else:
                setup_step_axis(settings.x_axis, *self.x_range(settings, record))
                ys = [y for *_, y, _ in curves if len(y)] + ([np.maximum(loss_y, 1e-9)] if show_minibatch else [])
                if ys:  # the log axis follows the data, with room above and below: the whole curve shows
                    values = np.concatenate(ys)
                    low, high = float(values.min()) / 1.3, float(values.max()) * 1.3
                    implot.setup_axis_limits(implot.ImAxis_.y1, low, high, implot.Cond_.always)
                    set_ticks(implot.ImAxis_.y1, log_ticks(low, high))
            if show_minibatch:
                faint = implot.Spec()
                faint.line_color = imgui.ImVec4(0.62, 0.62, 0.70, 0.45)
                implot.plot_line("minibatch", loss_x, np.maximum(loss_y, 1e-9), faint)
            for k, (label, x, y, followed) in enumerate(curves):
                if len(x) == 0:
                    continue
                spec = implot.Spec()
                spec.line_color = imgui.ImVec4(*SEED_COLOURS[k % len(SEED_COLOURS)], 1.0)
                spec.line_weight = 2.0 if followed else 1.5  # the run the slider follows
                spec.marker = implot.Marker_.circle if len(x) == 1 else implot.Marker_.none
                implot.plot_line(label, x, y, spec)
            self._target_changes(settings, steps, target_steps)
            self._marker_and_seek(settings, steps, shown_step)
            implot.end_plot()

    def _target_changes(self, settings: Settings, steps: np.ndarray, target_steps: np.ndarray | None) -> None:
        """A mark where the target changed (painted, or --switch); a stroke painted over several snapshots
        (a version at each) is one mark and a band to where it ended, not a line per snapshot."""
        if target_steps is None or len(target_steps) < 2:
            return
        x = self._x(target_steps[1:].astype(np.float64), steps, settings.x_axis)
        x = x[x > 0] if settings.x_axis == "log step" else x
        if not len(x):
            return
        implot.set_axes(implot.ImAxis_.x1, implot.ImAxis_.y1)
        limits = implot.get_plot_limits()
        pixels = np.array([implot.plot_to_pixels(value, limits.y.min).x for value in x])
        starts, ends = strokes(pixels)
        band = implot.Spec()
        band.fill_color = imgui.ImVec4(*TARGET_CHANGE, 0.25)
        for a, b in zip(x[starts], x[ends]):
            if b > a:
                implot.plot_shaded("##painting", np.array([a, b]), np.full(2, limits.y.min), np.full(2, limits.y.max),
                                   band)
        spec = implot.Spec()
        spec.line_color = imgui.ImVec4(*TARGET_CHANGE, 0.8)
        implot.plot_inf_lines("target changed", x[starts], spec)

    @staticmethod
    def build_axis_choice(settings: Settings, side_by_side: bool = False) -> None:
        """The x axis of both plots, and the geometry plot's legend beside it (no room inside it)."""
        for i, axis in enumerate(X_AXES):
            if i:
                imgui.same_line()
            if imgui.radio_button(f"x: {axis}" if i == 0 else axis, settings.x_axis == axis):
                settings.x_axis = axis
        if side_by_side:
            imgui.same_line()
            imgui.text_colored(imgui.ImVec4(*GEOMETRY_COLOURS[0]), "regions")
            if imgui.is_item_hovered():
                imgui.set_tooltip("linear regions in [0,1]^2 (exact), a curve per run in its loss plot colour")
            return
        for text, colour, tip in (("regions", GEOMETRY_COLOURS[0], "linear regions in [0,1]^2, exact (left axis)"),
                                  ("edges", GEOMETRY_COLOURS[1], "neuron boundary length per px^2 within 2 px of the "
                                                                 "target's edges (right axis)"),
                                  ("elsewhere", GEOMETRY_COLOURS[2], "neuron boundary length per px^2 elsewhere "
                                                                     "(right axis)")):
            imgui.same_line()
            imgui.text_colored(imgui.ImVec4(*colour), text)
            if imgui.is_item_hovered():
                imgui.set_tooltip(tip)

    @staticmethod
    def _nearest(steps: np.ndarray, x: float, axis: str) -> int:
        """The snapshot nearest to plot coordinate `x`."""
        if axis == "snapshot":
            return int(np.clip(round(x), 0, len(steps) - 1))
        index = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
        if index > 0 and abs(steps[index - 1] - x) < abs(steps[index] - x):
            index -= 1
        return index
