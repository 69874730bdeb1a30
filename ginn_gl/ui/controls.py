"""The window's settings and its keys: one dataclass that the keys and the panel edit, and the
keymap table (keys, action, help text) that the key handling, the F1 overlay and the README share.

Plain Python (no imgui, no GL), so it has plain unit tests. Positions in the history are steps:
the snapshot shown is resolved from the settings once a frame, in one locked history read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ginn_gl.core.history import Snapshot
from ginn_gl.core.pace import DEFAULT_PACE, DEFAULT_SPEED, MAX_PACE, MAX_SPEED, MIN_PACE, MIN_SPEED
from ginn_gl.core.view import ViewSettings

X_AXES = ("step", "log step", "snapshot")
BRUSH_DEFAULT, BRUSH_RANGE, BRUSH_FACTOR = 6.0, (1.0, 60.0), 1.25  # target pixels
SPEED_FACTOR = 1.5


class HistoryLike(Protocol):
    def read(self, step: int | None = None, offset: int = 0, wrap: bool = False) -> Snapshot | None: ...


@dataclass
class Settings:
    """Everything the user can change in the window, and what they asked the window to do."""

    sizes: list[int]
    view: ViewSettings = field(init=False)  # what the view draws: ViewSettings' defaults for `sizes`
    follow_live: bool = True  # show the newest snapshot as it arrives
    step: int = 0  # when not following: show the newest snapshot at or before this step
    playing: bool = False
    speed: float = DEFAULT_SPEED  # snapshots per second in autoplay
    pace: float | None = DEFAULT_PACE  # percent of the picture a second that training shows (None: max)
    training: bool = False  # a run is training: following it live, + and - change its pace
    x_axis: str = "step"  # of the loss plot
    show_help: bool = False
    # Requests the window carries out in the frame they are made.
    quit_requested: bool = False
    screenshot_requested: bool = False
    screenshot_whole_window: bool = False  # Shift+S: the window, panel included; S: the view alone
    restart_requested: bool = False
    restart_seed: int | None = None  # None: the same seed
    cycle_requested: bool = False  # Tab: maximise the next cell of a grid
    pause_requested: bool = False  # Space while following live: pause training, or resume it
    start_requested: str | None = None  # Setup's Start: "beside" or "instead" of the selected run
    branch_requested: bool = False  # B: a run from the shown snapshot, with Setup's settings
    copy_requested: bool = False  # Ctrl+C: the selected run's command on the clipboard
    painting: bool = False  # P: the buttons paint the target (left white, right black) instead of panning
    paint_requested: bool = False
    brush: float = BRUSH_DEFAULT  # the brush's radius, in target pixels
    notices: list[str] = field(default_factory=list)  # notes for the window to show, oldest first
    _moves: int = 0  # snapshots to move by at the next resolve (keys and buttons)
    _play_clock: float = 0.0  # autoplay's fraction of a snapshot still to go
    _rewind_at_end: bool = False  # play was pressed: start over if the newest is shown
    _pace_before_max: float = DEFAULT_PACE

    def __post_init__(self) -> None:
        self.view = ViewSettings(self.sizes)

    # ---- which snapshot ------------------------------------------------------------------------

    def resolve(self, history: HistoryLike, training: bool) -> Snapshot | None:
        """The snapshot to show now, with the moves asked for since the last call applied."""
        whole = int(self._play_clock) if self.playing else 0
        self._play_clock -= whole
        moves, self._moves = self._moves + whole, 0
        if self._rewind_at_end:
            self._rewind_at_end = False
            current = history.read(None if self.follow_live else self.step)
            if current is not None and current.newest:  # play from the start, not from the end
                self.follow_live, self.step, moves = False, -1, 0
        if self.follow_live and moves >= 0:
            return history.read()
        wrap = self.playing and not training  # a complete history loops
        snapshot = history.read(None if self.follow_live else self.step, offset=moves, wrap=wrap)
        if snapshot is None:
            return None
        if self.playing and training and snapshot.newest:  # autoplay caught up: join live
            self.go_live()
            return snapshot
        self.follow_live, self.step = False, snapshot.step
        return snapshot

    def seek(self, step: int) -> None:
        """Show the newest snapshot at or before `step`, and stop following live."""
        self.follow_live, self.step, self._moves = False, int(step), 0

    def step_back(self) -> None:
        self.playing = False
        self._moves -= 1

    def step_forward(self) -> None:
        self.playing = False
        self._moves += 1

    def first(self) -> None:
        self.playing = False
        self.seek(-1)  # before every step: the first snapshot

    def go_live(self) -> None:
        self.follow_live, self.playing, self._moves = True, False, 0

    # ---- autoplay ------------------------------------------------------------------------------

    def toggle_play(self) -> None:
        """Space: while following a live run, pause or resume training; else play or pause the history."""
        if self.training and self.follow_live and not self.playing:
            self.pause_requested = True
            return
        if self.playing:
            self.playing = False
            return
        self.playing, self._play_clock, self._rewind_at_end = True, 0.0, True

    def advance(self, dt: float) -> None:
        """Autoplay: `speed` snapshots a second; resolve() moves by the whole ones."""
        if self.playing:
            self._play_clock += dt * self.speed

    @property
    def pacing(self) -> bool:
        """+, - and the speed slider set the training pace (following a live run), else the speed."""
        return self.training and self.follow_live

    def faster(self) -> None:
        if not self.pacing:
            self.speed = min(MAX_SPEED, self.speed * SPEED_FACTOR)
        elif self.pace is not None:
            self.pace = None if self.pace * SPEED_FACTOR > MAX_PACE else self.pace * SPEED_FACTOR

    def slower(self) -> None:
        if not self.pacing:
            self.speed = max(MIN_SPEED, self.speed / SPEED_FACTOR)
        else:
            self.pace = max(MIN_PACE, (MAX_PACE * SPEED_FACTOR if self.pace is None else self.pace) / SPEED_FACTOR)

    def toggle_max_pace(self) -> None:
        """Training as fast as the hardware goes, or back to the pace it had."""
        if not self.training:
            self.notify("M sets the training pace, and nothing is training now: + and - set the playback speed")
            return
        if self.pace is None:
            self.pace = self._pace_before_max
        else:
            self._pace_before_max, self.pace = self.pace, None

    # ---- what is drawn -------------------------------------------------------------------------

    def toggle_target_view(self) -> None:
        self.view.toggle_target_view()

    def toggle_error_view(self) -> None:
        self.view.toggle_error_view()

    def toggle_contrast(self) -> None:
        self.view.toggle_contrast()

    def toggle_regions_view(self) -> None:
        self.view.toggle_regions_view()

    def toggle_layer_key(self, key: str) -> None:
        """Number key N toggles hidden layer N's lines."""
        self.view.toggle_layer(int(key[-1]) - 1)

    def all_lines(self) -> None:
        """A: every line, and no neuron alone any more."""
        self.view.set_all(True)
        self.view.solo = None

    def no_lines(self) -> None:
        self.view.set_all(False)

    # ---- requests ------------------------------------------------------------------------------

    def toggle_painting(self) -> None:
        self.paint_requested = True  # the window decides: painting needs a run that trains

    def set_painting(self, on: bool) -> None:
        self.painting = on
        self.notify("paint: left button white, right black; [ and ] or Shift+wheel size the brush; P again to "
                    "stop" if on else "paint mode off: drag pans again")

    def larger_brush(self) -> None:
        self.brush = min(BRUSH_RANGE[1], self.brush * BRUSH_FACTOR)

    def smaller_brush(self) -> None:
        self.brush = max(BRUSH_RANGE[0], self.brush / BRUSH_FACTOR)

    def request_branch(self) -> None:
        self.branch_requested = True

    def request_copy(self) -> None:
        self.copy_requested = True

    def notify(self, text: str) -> None:
        """A short note the window shows over the view for a few seconds (an answer to a key)."""
        self.notices.append(text)

    def toggle_help(self) -> None:
        self.show_help = not self.show_help

    def request_screenshot(self) -> None:
        self.screenshot_requested, self.screenshot_whole_window = True, False

    def request_window_screenshot(self) -> None:
        self.screenshot_requested, self.screenshot_whole_window = True, True

    def request_restart(self, seed: int | None = None) -> None:
        self.restart_requested, self.restart_seed = True, seed

    def request_quit(self) -> None:
        self.quit_requested = True

    def request_cycle(self) -> None:
        self.cycle_requested = True


@dataclass(frozen=True)
class Binding:
    """Keys (GLFW names; "SHIFT+" for a shifted key) bound to an action on the Settings."""

    keys: tuple[str, ...]
    label: str  # how the help and the README write the keys
    help: str
    action: Callable[..., None]  # Settings method; given the key's name too when `with_key`
    repeat: bool = False  # held down, the key repeats
    with_key: bool = False


DIGITS = tuple(str(n) for n in range(1, 10))
KEYMAP: tuple[Binding, ...] = (
    Binding(("SPACE",), "Space", "pause / resume training while following live; otherwise play / pause the "
            "history (at its end it joins live while training runs, else it loops)", Settings.toggle_play),
    Binding(("EQUAL", "KP_ADD"), "+", "faster: the training pace while following live, else the playback "
            "(also = and the keypad +)", Settings.faster, repeat=True),
    Binding(("MINUS", "KP_SUBTRACT"), "-", "slower: the training pace while following live, else the playback "
            "(also the keypad -)", Settings.slower, repeat=True),
    Binding(("M",), "M", "train at max pace (as fast as the hardware goes), or back to the pace",
            Settings.toggle_max_pace),
    Binding(("LEFT",), "Left", "one snapshot back", Settings.step_back, repeat=True),
    Binding(("RIGHT",), "Right", "one snapshot forward", Settings.step_forward, repeat=True),
    Binding(("HOME",), "Home", "the first snapshot", Settings.first),
    Binding(("END",), "End", "follow live (the newest snapshot)", Settings.go_live),
    Binding(("T",), "T", "target / prediction view", Settings.toggle_target_view),
    Binding(("E",), "E", "error view", Settings.toggle_error_view),
    Binding(("G",), "G", "regions view: a flat colour per linear region (activation pattern)",
            Settings.toggle_regions_view),
    Binding(("C",), "C", "contrast: each prediction stretched from its own min to max, as the original drew it",
            Settings.toggle_contrast),
    Binding(DIGITS + tuple(f"KP_{d}" for d in DIGITS), "1 .. 9", "toggle a hidden layer's lines",
            Settings.toggle_layer_key, with_key=True),
    Binding(("A",), "A", "all lines (and leave solo)", Settings.all_lines),
    Binding(("N",), "N", "no lines", Settings.no_lines),
    Binding(("S",), "S", "save the view as a PNG at full resolution (under screenshots/)",
            Settings.request_screenshot),
    Binding(("SHIFT+S",), "Shift+S", "save the whole window as a PNG, panel included",
            Settings.request_window_screenshot),
    Binding(("P",), "P", "paint mode: the left button paints the target white, the right black, while it trains",
            Settings.toggle_painting),
    Binding(("RIGHT_BRACKET",), "]", "a larger brush (also Shift+wheel)", Settings.larger_brush, repeat=True),
    Binding(("LEFT_BRACKET",), "[", "a smaller brush", Settings.smaller_brush, repeat=True),
    Binding(("B",), "B", "branch: a new run from the shown snapshot with Setup's settings, beside its parent",
            Settings.request_branch),
    Binding(("CTRL+C",), "Ctrl+C", "copy the command that trains the selected run from scratch",
            Settings.request_copy),
    Binding(("R",), "R", "restart training with the same seed (the current run is discarded; a finished "
            "one asks first)",
            Settings.request_restart),
    Binding(("TAB",), "Tab", "seeds side by side: the next cell alone, ..., then all again (or click a label)",
            Settings.request_cycle),
    Binding(("F1", "SHIFT+SLASH"), "F1 or ?", "the keys (this list)", Settings.toggle_help),
    Binding(("ESCAPE", "Q"), "Esc / Q", "quit (the run is saved)", Settings.request_quit),
)
MOUSE_HELP = ("Mouse", "wheel zooms the view, drag pans it, double-click resets it")


def binding_for(name: str, shift: bool, ctrl: bool = False) -> Binding | None:
    """The binding of a key (its GLFW name): with Ctrl held only its Ctrl form, else the shifted form first
    when shift is held."""
    wanted_forms = (f"CTRL+{name}",) if ctrl else ((f"SHIFT+{name}", name) if shift else (name,))
    for wanted in wanted_forms:
        for binding in KEYMAP:
            if wanted in binding.keys:
                return binding
    return None


def dispatch(settings: Settings, name: str, shift: bool, repeated: bool, ctrl: bool = False) -> bool:
    """Carry out the key's action on `settings`; False if the key is not bound (or does not repeat)."""
    binding = binding_for(name, shift, ctrl)
    if binding is None or (repeated and not binding.repeat):
        return False
    if binding.with_key:
        binding.action(settings, name)
    else:
        binding.action(settings)
    return True
