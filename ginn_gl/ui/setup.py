"""The panel's Setup section: every training option the command line has, a gallery of the built-in
targets, a path field (or a file dropped on the window), and what to do with them: start a run beside
the others or instead of the selected one, branch from the shown snapshot, copy the command.

A value that is not valid is refused in place with the command line's own message (TrainConfig checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from imgui_bundle import imgui

from ginn_gl.core.config import INTEGER, TrainConfig, parse_int_list
from ginn_gl.core.errors import UserError
from ginn_gl.core.network import ACTIVATIONS, HEADS
from ginn_gl.core.pace import pace_label, parse_pace
from ginn_gl.core.schedule import SCHEDULES, SNAPSHOTS
from ginn_gl.core.targets import THRESHOLDS

ERROR = imgui.ImVec4(1.0, 0.45, 0.35, 1.0)
THUMB = 34.0  # pixels: a gallery thumbnail
COMBO_WIDTH = 82.0  # pixels: three combos and their names fit the panel's width on one row
CHOICES = {"threshold": THRESHOLDS, "activation": tuple(ACTIVATIONS), "head": HEADS, "schedule": SCHEDULES,
           "snapshots": SNAPSHOTS}


@dataclass
class Actions:
    """What the Setup section asked for this frame (the app carries them out)."""

    start: str | None = None  # "beside" or "instead"
    branch: bool = False
    copy: bool = False
    paint: bool = False  # the paint toggle was clicked (as P)


@dataclass
class SetupForm:
    """The Setup section's fields, as text: what the user typed stays as typed until it is valid."""

    text: dict[str, str] = field(default_factory=dict)
    error: str = ""
    note: str = ""  # the last start or branch, or why it did not happen
    thumbnails: dict[str, int] = field(default_factory=dict)  # built-in name -> GL texture name
    image_rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # the path field, for tests

    def load(self, config: TrainConfig, pace: float | None) -> None:
        """The fields from a run's config (the selected run's, when the window starts or the selection moves)."""
        for f in fields(TrainConfig):
            value = getattr(config, f.name)
            if f.name in ("switches", "parent", "at", "device", "history_mb"):
                continue
            if f.name == "seeds":
                self.text["seeds"] = ",".join(map(str, value))
            elif isinstance(value, tuple):
                self.text[f.name] = ",".join(map(str, value))
            else:
                self.text[f.name] = repr(value) if isinstance(value, float) else str(value)
        self.text["pace"] = pace_label(pace).removesuffix("%/s")
        self.error = ""

    def config(self, base: TrainConfig) -> tuple[TrainConfig, float | None]:
        """The fields as a TrainConfig over `base` (its device and memory), and the pace; UserError otherwise."""
        t = self.text
        values: dict[str, Any] = {
            "image": t["image"], "resolution": self._int("--resolution", t["resolution"]),
            "threshold": t["threshold"], "layers": parse_int_list("--layers", t["layers"], "16,16,16"),
            "activation": t["activation"], "head": t["head"], "lr": self._float("--lr", t["lr"]),
            "batch_size": self._int("--batch-size", t["batch_size"]), "schedule": t["schedule"],
            "steps": self._int("--steps", t["steps"]), "snapshots": t["snapshots"],
            "seeds": parse_int_list("--seeds", t["seeds"], "0 or 0,1,2,3"),
        }
        return replace(base, switches=(), parent=None, at=None, **values), parse_pace(t["pace"])

    @staticmethod
    def _int(option: str, text: str) -> int:
        if not INTEGER.fullmatch(text.strip()):
            raise UserError(f"{option} {text!r} is not a whole number written with the digits 0-9")
        return int(text)

    @staticmethod
    def _float(option: str, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise UserError(f"{option} {text!r} is not a number, e.g. {option} 1e-3") from None

    # ---- drawing -------------------------------------------------------------------------------

    def build(self, base: TrainConfig | None, can_branch: bool, shown_step: int | None,
              painting: bool = False) -> Actions:
        """The section's widgets; returns what was asked for. `base` None: a replay, nothing to start."""
        actions = Actions()
        if base is None:
            imgui.text_disabled("Replaying recorded runs: Setup starts runs in a training window.")
            return actions
        self._gallery()
        imgui.set_next_item_width(-70)
        _, self.text["image"] = imgui.input_text("image", self.text["image"])
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.image_rect = (lo.x, lo.y, hi.x, hi.y)
        if imgui.is_item_hovered():
            imgui.set_tooltip("a built-in name, a picture's path, a run file (RUN.npz or RUN.npz@STEP: its target),\n"
                              "or drop a file on the window")
        self._row(("resolution", 70.0), ("layers", 110.0), ("seeds", 90.0))
        self._row(("lr", 80.0), ("batch_size", 70.0), ("steps", 90.0))
        self._combos(("threshold", "activation", "head"))
        self._combos(("schedule", "snapshots"))
        imgui.same_line()
        imgui.set_next_item_width(60)
        _, self.text["pace"] = imgui.input_text("pace %/s", self.text["pace"])
        try:
            self.config(base)
            self.error = ""
        except UserError as exc:
            self.error = str(exc)
        imgui.begin_disabled(bool(self.error))
        if imgui.button("Start beside"):
            actions.start = "beside"
        _tip("Train a new run with these settings, in a new cell beside the others (9 at most: the oldest\n"
             "finished run leaves the grid to make room, and is still saved on close)")
        imgui.same_line()
        if imgui.button("Start instead"):
            actions.start = "instead"
        _tip("Train it in the selected cell's place: that run is discarded (a finished one asks first)")
        imgui.same_line()
        imgui.begin_disabled(not can_branch)
        if imgui.button(f"Branch at step {shown_step:,} (B)" if shown_step is not None else "Branch (B)"):
            actions.branch = True
        _tip("A new run from the shown snapshot's weights with these settings (the same network), beside its\n"
             "parent; it starts with a fresh Adam: the optimiser's state is not in a run file")
        imgui.end_disabled()
        imgui.end_disabled()
        imgui.same_line()
        if imgui.button("Copy command"):
            actions.copy = True
        _tip("Put on the clipboard the ginn-gl command that trains the selected run from scratch (Ctrl+C)")
        actions.paint = imgui.checkbox("paint the target (P)", painting)[0]
        _tip("Paint the target while it trains: the left button white, the right black; [ and ] or\n"
             "Shift+wheel size the brush; drag pans again when it is off")
        if self.error:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(ERROR, self.error)
            imgui.pop_text_wrap_pos()
        elif self.note:
            imgui.text_wrapped(self.note)
        return actions

    def _gallery(self) -> None:
        for index, (name, texture) in enumerate(self.thumbnails.items()):
            if index:
                imgui.same_line(0.0, 3.0)
            chosen = self.text.get("image") == name
            if chosen:
                imgui.push_style_color(imgui.Col_.button, imgui.ImVec4(1.0, 0.85, 0.2, 1.0))
            if imgui.image_button(f"##target-{name}", imgui.ImTextureRef(texture), (THUMB, THUMB)):
                self.text["image"] = name
            if chosen:
                imgui.pop_style_color()
            _tip(name)

    def _row(self, *items: tuple[str, float]) -> None:
        for index, (name, width) in enumerate(items):
            if index:
                imgui.same_line()
            imgui.set_next_item_width(width)
            _, self.text[name] = imgui.input_text(name.replace("_", " "), self.text[name])

    def _combos(self, names: tuple[str, ...]) -> None:
        for index, name in enumerate(names):
            if index:
                imgui.same_line()
            imgui.set_next_item_width(COMBO_WIDTH)
            if imgui.begin_combo(name, self.text[name]):
                for choice in CHOICES[name]:
                    if imgui.selectable(choice, choice == self.text[name])[0]:
                        self.text[name] = choice
                imgui.end_combo()


def _tip(text: str) -> None:
    if imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled):
        imgui.set_tooltip(text)
