"""What the window draws over the view: the keys (F1), a question before a finished run is
discarded, and a badge when the view shows another step than the panel."""

from __future__ import annotations

from imgui_bundle import imgui

from ginn_gl.ui.controls import KEYMAP, MOUSE_HELP

OVERLAY_FLAGS = (imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize | imgui.WindowFlags_.no_collapse
                 | imgui.WindowFlags_.no_saved_settings | imgui.WindowFlags_.always_auto_resize)


def build_help(x: float, y: float, width: float) -> tuple[float, float, float, float]:
    """The keymap (and the mouse), over the view; returns the overlay's rectangle (x, y, w, h)."""
    imgui.set_next_window_pos((x, y))
    # Width fixed, height fitted: an auto-resized window alone would shrink the wrapped column to nothing.
    imgui.set_next_window_size_constraints((width, 0.0), (width, 1e6))
    imgui.set_next_window_bg_alpha(0.92)
    imgui.begin("Keys (F1 or ? to close)", None, OVERLAY_FLAGS)
    if imgui.begin_table("keys", 2, imgui.TableFlags_.sizing_fixed_fit):
        imgui.table_setup_column("key", imgui.TableColumnFlags_.width_fixed)
        imgui.table_setup_column("what", imgui.TableColumnFlags_.width_stretch)
        for key, what in [(binding.label, binding.help) for binding in KEYMAP] + [MOUSE_HELP]:
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text(key)
            imgui.table_next_column()
            imgui.text_wrapped(what)
        imgui.end_table()
    pos, size = imgui.get_window_pos(), imgui.get_window_size()
    imgui.end()
    return pos.x, pos.y, size.x, size.y


def build_confirm(x: float, y: float, question: str) -> bool | None:
    """A question before a finished run is discarded, centred at (x, y): True (go on and discard it),
    False (keep it), None (not answered yet)."""
    imgui.set_next_window_pos((x, y), imgui.Cond_.always, (0.5, 0.5))
    imgui.set_next_window_bg_alpha(0.96)
    imgui.begin("Discard the run?", None, OVERLAY_FLAGS)
    imgui.text(question)
    answer = None
    if imgui.button("Go on and discard the run (Enter / Y)"):
        answer = True
    imgui.same_line()
    if imgui.button("Keep it (Esc / N)"):
        answer = False
    imgui.end()
    return answer


NOTICE_SECONDS = 4.0


class Notices:
    """The notes that answer keys ("saved ...", "M: nothing is training"), each shown for NOTICE_SECONDS at
    the view's bottom, newest last."""

    def __init__(self) -> None:
        self.shown: list[tuple[float, str]] = []

    def add(self, now: float, texts: list[str]) -> None:
        for text in texts:  # a note said again while it shows (a drag repeats one) is shown once, for longer
            self.shown = [(when, shown) for when, shown in self.shown if shown != text] + [(now, text)]
        texts.clear()

    def build(self, now: float, x: float, bottom: float) -> None:
        self.shown = [(when, text) for when, text in self.shown if now - when < NOTICE_SECONDS][-3:]
        draw = imgui.get_foreground_draw_list()
        y = bottom
        for _, text in reversed(self.shown):
            size = imgui.calc_text_size(text)
            y -= size.y + 12
            draw.add_rect_filled((x + 10, y), (x + 22 + size.x, y + size.y + 8),
                                 imgui.get_color_u32(imgui.ImVec4(0, 0, 0, 0.8)), 4.0)
            draw.add_text((x + 16, y + 4), imgui.get_color_u32(imgui.ImVec4(1.0, 1.0, 1.0, 1.0)), text)


def view_badge(x: float, text: str) -> None:
    """A small label at the view's top left corner (window units)."""
    draw = imgui.get_foreground_draw_list()
    size = imgui.calc_text_size(text)
    draw.add_rect_filled((x + 6, 6), (x + 14 + size.x, 10 + size.y), imgui.get_color_u32(imgui.ImVec4(0, 0, 0, 0.75)))
    draw.add_text((x + 10, 8), imgui.get_color_u32(imgui.ImVec4(1.0, 0.85, 0.2, 1.0)), text)
