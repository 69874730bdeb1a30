"""The Dear ImGui panel: training, loss plot, history and playback, view options, neuron toggles,
network diagram and status, each a collapsible section; the diagram shrinks so that the whole
panel fits the window. Widgets edit the Settings (and pause or resume the trainer, which only
sets the trainer's events); requests such as a restart are carried out by the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from imgui_bundle import imgui

from ginn_gl.core.config import MAX_SEED, TrainConfig
from ginn_gl.core.history import History, HistoryRecord, Snapshot
from ginn_gl.core.lifecycle import Change, NeuronStatus, changes, status_counts
from ginn_gl.core.pace import MAX_PACE, MIN_PACE, PACE_UNIT, pace_label
from ginn_gl.core.palette import family_name, neuron_colours
from ginn_gl.core.progress import Progress, State, TrainingRun
from ginn_gl.core.selection import hidden_widths, layer_offsets, locate
from ginn_gl.core.view import BACKGROUNDS, DEFAULT_DOMAIN
from ginn_gl.ui.controls import MAX_SPEED, MIN_SPEED, Settings
from ginn_gl.ui.diagram import Diagram
from ginn_gl.ui.lossplot import LossPlot
from ginn_gl.ui.session import Track
from ginn_gl.ui.setup import Actions, SetupForm

LOSS_PLOT_HEIGHT = 84.0
GEOMETRY_PLOT_HEIGHT = 70.0
DIAGRAM_HEIGHTS = (60.0, 210.0)  # the diagram takes what is left of the window, within these
STATUS_LINES = 5  # the status section's lines at most (while training): the diagram leaves room for them
OPEN = imgui.TreeNodeFlags_.default_open


@dataclass
class PanelInput:
    """What the panel shows this frame, read by the app."""

    history: History
    snapshot: Snapshot | None  # the snapshot shown (None while the history is empty)
    activation: str
    trainer: TrainingRun | None  # None when replaying
    seed: int
    device: str
    frame_ms: float
    view_ms: float
    view_scale: float  # resolution of the view shown, relative to full (a CPU rasteriser refines)
    title: str
    view_path: str = "fragment"  # the shader that draws the view: fragment or compute
    thumbnail: int | None = None  # the texture (GL name) holding the probed neuron's activation
    tracks: Sequence[Track] = ()  # the networks shown side by side, the first the primary
    setup: SetupForm | None = None  # the Setup section's fields
    setup_base: TrainConfig | None = None  # the selected run's config (None: a recorded run)
    can_branch: bool = False
    command: str = ""  # the command that trains the selected run from scratch
    where: str = ""  # where the selected run goes on close
    target_steps: np.ndarray | None = None  # the steps at which the target changed (marked in the loss plot)


@dataclass
class Panel:
    sizes: list[int]
    width: float = 470.0  # logical pixels
    seed_text: str = "0"  # the seed field's text: restart with this seed
    button_rects: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    seed_rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # where to click to type a seed
    lifecycle_rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # its header: where to click to open
    overflow: float = 0.0
    probe: int | None = None  # the neuron hovered in the diagram: the app draws its thumbnail
    diagram_height: float = 0.0  # the network diagram's height this frame (0: no room for it)

    def __post_init__(self) -> None:
        self.colours = np.concatenate(neuron_colours(self.sizes))
        self.loss_plot = LossPlot()
        self.diagram = Diagram(self.sizes)
        self.lifecycle = Lifecycle(self.sizes)

    def build(self, settings: Settings, data: PanelInput, x: float, height: float) -> Actions:
        """Lay out the panel at the right edge; returns what Setup asked for."""
        actions = Actions()
        settings.view.highlighted = None  # until a hovered neuron sets it again
        imgui.set_next_window_pos((x, 0.0))
        imgui.set_next_window_size((self.width, height))
        flags = (imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize
                 | imgui.WindowFlags_.no_collapse | imgui.WindowFlags_.no_saved_settings)
        imgui.begin(data.title, None, flags)
        imgui.push_item_flag(imgui.ItemFlags_.no_tab_stop, True)  # Tab is ours (the grid), not a field's
        self._training(settings, data)
        if data.setup is not None and imgui.collapsing_header("Setup"):  # closed at first: the panel fits 900 px
            shown_step = None if data.snapshot is None else data.snapshot.step
            actions = data.setup.build(data.setup_base, data.can_branch, shown_step, settings.painting)
        # One locked read of each history this frame: every plot and list below draws from these.
        records = {id(track.history): track.history.record() for track in data.tracks}
        record = records.get(id(data.history)) or data.history.record()
        total = data.trainer.config.steps if data.trainer is not None else int(record.steps[-1])
        shown_step = None if data.snapshot is None else data.snapshot.step
        if imgui.collapsing_header("Loss and geometry", OPEN):
            others = tuple((t.label, records[id(t.history)]) for t in data.tracks) if len(data.tracks) > 1 else ()
            self.loss_plot.build(settings, record, shown_step, total, LOSS_PLOT_HEIGHT, others,
                                 x_labels=not self.loss_plot.geometry_shown(settings, record),
                                 target_steps=data.target_steps)
            self.loss_plot.build_geometry(settings, record, shown_step, GEOMETRY_PLOT_HEIGHT, others)
            self.loss_plot.build_axis_choice(settings, bool(others))
        if imgui.collapsing_header("History", OPEN):
            self._history(settings, data, record)
        if imgui.collapsing_header("View", OPEN):
            self._view(settings)
        if imgui.collapsing_header("Neurons", OPEN):
            self._neurons(settings, data.snapshot)
        status = (imgui.get_frame_height_with_spacing() + STATUS_LINES * imgui.get_text_line_height_with_spacing()
                  + imgui.get_style().window_padding.y)  # its header, its lines and the window's edge
        lifecycle_open = imgui.collapsing_header("Lifecycle")  # closed at first: a list that grows
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.lifecycle_rect = (lo.x, lo.y, hi.x, hi.y)
        if lifecycle_open:
            # The list takes what Status leaves (the diagram gives way), so the panel still fits.
            room = imgui.get_content_region_avail().y - status - 3 * imgui.get_frame_height_with_spacing()
            self.lifecycle.build(settings, self.loss_plot.measured_geometry(record), room)
        if imgui.collapsing_header("Network", OPEN):
            room = imgui.get_content_region_avail().y - status
            self.diagram_height = float(np.clip(room, *DIAGRAM_HEIGHTS)) if room >= DIAGRAM_HEIGHTS[0] else 0.0
            if self.diagram_height:
                self.probe = self.diagram.build(settings, data.snapshot, self.diagram_height, data.thumbnail)
            else:
                self.probe = None
                imgui.text_disabled("(no room for the diagram: close a section above, or make the window taller)")
        if imgui.collapsing_header("Status", OPEN):
            self._status(data, record)
        self.overflow = imgui.get_scroll_max_y()  # pixels the panel would have to scroll: 0 when it fits
        imgui.pop_item_flag()
        imgui.end()
        return actions

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
        if not progress.state.done and not progress.pause_asked:
            if imgui.button("Pause"):
                trainer.pause()
            self._tooltip("Pause training (Space, while following live)")
        elif not progress.state.done:
            if imgui.button("Resume"):
                trainer.resume()
            self._tooltip("Resume training (Space, while following live)")
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
        imgui.set_next_item_width(170)
        # Text, not ImGui's 32-bit int field: seeds run to 2^64 - 1.
        _, self.seed_text = imgui.input_text("##seed", self.seed_text, imgui.InputTextFlags_.chars_decimal)
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.seed_rect = (lo.x, lo.y, hi.x, hi.y)
        seed = parse_seed(self.seed_text)
        imgui.same_line()
        imgui.begin_disabled(seed is None)
        if imgui.button("Restart with seed") and seed is not None:
            settings.request_restart(seed)
        imgui.end_disabled()
        if seed is None:
            imgui.text_colored(imgui.ImVec4(1.0, 0.45, 0.35, 1.0), f"a seed is a whole number from 0 to {MAX_SEED}")
        if trainer.message:
            imgui.text_wrapped(trainer.message)

    def _history(self, settings: Settings, data: PanelInput, record: HistoryRecord) -> None:
        snapshot = data.snapshot
        if snapshot is None:
            imgui.text_disabled("no snapshot yet")
            return
        steps = record.steps  # this frame's record: positions map to steps
        position = int(np.clip(np.searchsorted(steps, snapshot.step), 0, len(steps) - 1))
        # The values beside the sliders, never on them: a slider's grab would cover part of its text.
        imgui.text(f"step {snapshot.step:,}   loss {snapshot.loss:.4f}   snapshot {snapshot.index + 1} of "
                   f"{snapshot.count}")
        imgui.set_next_item_width(-1)
        changed, value = imgui.slider_int("##history", position, 0, len(steps) - 1, "")
        if changed:
            settings.playing = False
            settings.seek(int(steps[value]))
        for label, action in (("|<", settings.first), ("<", settings.step_back)):
            if imgui.button(label):
                action()
            imgui.same_line()
        if imgui.button("Pause" if settings.playing else "Play", (60, 0)):
            settings.toggle_play()
        imgui.same_line()
        if imgui.button(">"):
            settings.step_forward()
        imgui.same_line()
        live = data.trainer is not None  # a recorded run has nothing to follow
        if live:
            live_colour = (0.15, 0.55, 0.25, 1.0) if settings.follow_live else (0.30, 0.30, 0.34, 1.0)
            imgui.push_style_color(imgui.Col_.button, live_colour)
            if imgui.button("Live"):
                settings.go_live()
            imgui.pop_style_color()
            if imgui.is_item_hovered():
                imgui.set_tooltip("Follow the newest snapshot (End)")
            imgui.same_line()
        if settings.pacing:  # following a live run: the slider sets the training pace; its right end is max
            imgui.text(f"pace {pace_label(settings.pace)}")
            self._tooltip("Training pace: how fast the picture may change, in percent of it a second (+ and -;\n"
                          "M: max, as fast as the hardware goes). Quiet stretches pass at full speed.")
            imgui.same_line()
            imgui.set_next_item_width(-1)
            value = MAX_PACE if settings.pace is None else settings.pace
            changed, value = imgui.slider_float("##pace", value, MIN_PACE, MAX_PACE, "",
                                                imgui.SliderFlags_.logarithmic)
            if changed:
                settings.pace = None if value >= MAX_PACE else value
        else:
            imgui.text(f"play {settings.speed:.3g}/s")
            self._tooltip("Playback speed in snapshots per second (+ and -)")
            imgui.same_line()
            imgui.set_next_item_width(-1)
            _, settings.speed = imgui.slider_float("##speed", settings.speed, MIN_SPEED, MAX_SPEED, "",
                                                   imgui.SliderFlags_.logarithmic)

    @staticmethod
    def _tooltip(text: str) -> None:
        if imgui.is_item_hovered():
            imgui.set_tooltip(text)

    def _view(self, settings: Settings) -> None:
        view = settings.view
        for i, name in enumerate(BACKGROUNDS):
            if i:
                imgui.same_line()
            if imgui.radio_button(name, view.background == name):
                view.background = name
        _, view.output_boundary = imgui.checkbox("p = 0.5 line", view.output_boundary)
        imgui.same_line()
        if imgui.checkbox("stretch", view.contrast == "stretch")[0]:
            view.toggle_contrast()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Contrast: each prediction from its own min to max, as the original drew it (C)")
        imgui.same_line()
        if imgui.checkbox("slope shading", view.shading == "gradient")[0]:
            view.shading = "flat" if view.shading == "gradient" else "gradient"
        if imgui.is_item_hovered():
            imgui.set_tooltip("Regions view: each region darker where the network's logit is flatter")
        imgui.set_next_item_width(150)
        _, view.line_width = imgui.slider_float("line width", view.line_width, 0.5, 6.0, "%.1f px")
        imgui.same_line()
        if imgui.button("Reset zoom"):
            view.reset_domain()
        if view.domain != DEFAULT_DOMAIN:
            imgui.same_line()
            imgui.text_disabled(f"x{view.zoom:.2g}")

    def _neurons(self, settings: Settings, snapshot: Snapshot | None) -> None:
        view = settings.view
        status = snapshot.status if snapshot is not None and snapshot.status is not None else None
        lag = ("" if snapshot is None or snapshot.status_step in (None, snapshot.step)
               else f" (at step {snapshot.status_step:,}: this one is not measured yet)")
        if imgui.button("All"):
            view.set_all(True)
        imgui.same_line()
        if imgui.button("None"):
            view.set_all(False)
        imgui.same_line()
        if view.solo is not None:
            layer, neuron = locate(self.sizes, view.solo)
            if imgui.small_button(f"solo {layer}:{neuron}: show all"):
                view.solo = None
        else:
            imgui.text_disabled(f"{int(view.shown.sum())} of {len(view.shown)} lines; Ctrl+click: solo")
        self.button_rects = {}
        size = 17.0
        offsets = layer_offsets(self.sizes)
        draw = imgui.get_window_draw_list()
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
                r, g, b = self.colours[index]
                colour = imgui.ImVec4(r, g, b, 1.0) if on else imgui.ImVec4(r * 0.3, g * 0.3, b * 0.3, 1.0)
                if imgui.color_button(f"##n{index}", colour, imgui.ColorEditFlags_.no_tooltip, (size, size)):
                    if imgui.get_io().key_ctrl:
                        view.toggle_solo(index)
                    else:
                        view.toggle_neuron(index)
                lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
                self.button_rects[index] = (lo.x, lo.y, hi.x, hi.y)
                state = NeuronStatus(int(status[index])) if status is not None else NeuronStatus.UNMEASURED
                mark_status(draw, (lo.x, lo.y, hi.x, hi.y), state, index == view.solo)
                if imgui.is_item_hovered():
                    view.highlighted = index
                    imgui.set_tooltip(f"layer {layer + 1} ({family_name(layer)}), neuron {neuron}: "
                                      f"{'shown' if on else 'hidden'}; {state.label}: {state.meaning}"
                                      f"{lag}.\nClick to toggle, Ctrl+click to show it alone")
                if neuron + 1 < width and hi.x + 2 * size < right:
                    imgui.same_line(0.0, 2.0)
            imgui.pop_id()
        if status is not None and (status >= 0).all():
            counts = [status_counts(status[view.layer_slice(layer)]) for layer in range(len(hidden_widths(self.sizes)))]
            imgui.text_wrapped("switching / dead (struck) / always on (dot):  " + "   ".join(
                f"L{layer + 1} {c[NeuronStatus.SWITCHING]}/{c[NeuronStatus.DEAD]}/{c[NeuronStatus.ALWAYS_ON]}"
                for layer, c in enumerate(counts)))

    def _status(self, data: PanelInput, record: HistoryRecord) -> None:
        history, trainer = data.history, data.trainer
        if trainer is None:
            imgui.text(data.device)
        else:
            progress = trainer.progress()
            if progress.state.done:
                imgui.text(f"{data.device}: {progress.state.value}, {progress.step:,} steps in "
                           f"{trainer.elapsed:.1f} s")
            else:
                imgui.text(f"{data.device}   {progress.steps_per_second:,.0f} steps/s   "
                           f"{progress.step_ms * 1000:.0f} us/step   minibatch loss {progress.loss:.4f}")
                imgui.text(f"pace {pace_label(progress.pace)}: " + self._pace_state(progress))
        scale = "" if data.view_scale >= 1.0 else f", refining from 1/{round(1 / data.view_scale)}"
        imgui.text(f"frame {data.frame_ms:.1f} ms   view {data.view_ms:.1f} ms ({data.view_path} shader{scale})")
        behind = trainer.geometry_lag if trainer is not None else 0  # the helper measures on idle time only
        imgui.text(f"{len(record):,} snapshots, {history.used_bytes / 2**20:.1f} of {history.nbytes / 2**20:.1f} MB"
                   + (f", thinned {record.thinned}x" if record.thinned else "")
                   + (f", geometry {behind:,} behind" if behind > 1 else ""))
        if trainer is not None and trainer.geometry_problem:
            imgui.text_wrapped(f"{trainer.geometry_problem}: regions and density are not measured from here on")
        # Where the run goes and the command that trains it again share a line: the diagram needs the room.
        parts = [part for part in (data.where, data.command) if part] or ["F1 or ? shows the keys"]
        line = "   ".join(parts)
        imgui.text_disabled(line if len(line) < 70 else line[:67] + "...")
        if (data.where or data.command) and imgui.is_item_hovered():
            imgui.set_tooltip("\n".join(parts) + ("\n(Ctrl+C copies the command; F1 or ? shows the keys)"
                                                   if data.command else ""))

    @staticmethod
    def _pace_state(progress: Progress) -> str:
        if progress.state is State.PAUSED or progress.pause_asked:
            return "paused (Space resumes)"
        shown = f" ({progress.change_rate:.3g}{PACE_UNIT}, {progress.snapshot_rate:.3g} snapshots/s)" \
            if progress.snapshot_rate else ""
        if progress.pace is not None and progress.keeping_pace:
            return "the hardware keeps up" + shown
        # Below the pace without waiting: training runs flat out and the picture moves slower than the pace
        # allows (a quiet stretch, or slow hardware); the rates in brackets say which.
        limit = "as fast as the hardware goes" if progress.pace is None else "training at full speed, below the pace"
        return limit + shown


def parse_seed(text: str) -> int | None:
    """The seed a field holds, or None when it is not one (ASCII digits, 0 to 2^64 - 1)."""
    text = text.strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    seed = int(text)
    return seed if seed <= MAX_SEED else None


def mark_status(draw: imgui.ImDrawList, rect: tuple[float, float, float, float], state: NeuronStatus,
                solo: bool) -> None:
    """Over a neuron's toggle: dead struck through, always on a white dot (it draws no line), solo ringed."""
    x0, y0, x1, y1 = rect
    white = imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 0.9))
    if state is NeuronStatus.DEAD:
        draw.add_line((x0 + 2, y1 - 2), (x1 - 2, y0 + 2), white, 2.0)
    elif state is NeuronStatus.ALWAYS_ON:
        draw.add_circle_filled(((x0 + x1) / 2, (y0 + y1) / 2), 3.0, white)
    if solo:
        draw.add_rect((x0 - 2, y0 - 2), (x1 + 2, y1 + 2), imgui.get_color_u32(imgui.ImVec4(1, 0.85, 0.2, 1)),
                      rounding=0.0, thickness=2.0)


class Lifecycle:
    """The neurons' status changes, newest last; hovering one highlights its line, clicking seeks to it."""

    def __init__(self, sizes: list[int]):
        self.sizes = sizes
        self._key: tuple[int, int] | None = None
        self.entries: list[Change] = []

    def build(self, settings: Settings, geometry: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
              room: float = 120.0) -> None:
        """The list, at most `room` pixels tall (three rows at least, and at most 120 px)."""
        steps, _, _, status = geometry
        key = (len(steps), int(steps[-1]) if len(steps) else -1)
        if key != self._key:
            self.entries = changes(steps.astype(np.int64), status)
            self._key = key
        if not self.entries:
            imgui.text_disabled("no neuron has changed status yet")
            return
        row = imgui.get_text_line_height_with_spacing()  # 8 rows where there is room, else fewer, scrolled
        height = min(row * len(self.entries) + 4, float(np.clip(room, 3 * row, 8 * row + 4)))
        if imgui.begin_child("##lifecycle", (-1.0, height)):
            for i, change in enumerate(self.entries):
                if imgui.selectable(f"{change.label(self.sizes)}##{i}", False)[0]:
                    settings.playing = False
                    settings.seek(change.step)
                if imgui.is_item_hovered():  # its line drawn wider, as when its toggle is hovered
                    settings.view.highlighted = change.neuron
        imgui.end_child()
