"""The API's progress bar: `ginn-gl train`'s bar on stderr, rewritten in place on a terminal and in
Jupyter too (whose output honours a carriage return, not every terminal escape)."""

from __future__ import annotations

import sys
from typing import TextIO

from ginn_gl.cli.progress import ProgressBar

ERASE_LINE = "\x1b[K"


class NotebookStream:
    """stderr in a Jupyter kernel: the bar's erase-to-end-of-line code becomes padding with spaces."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.width = 0  # the visible line's length so far

    def isatty(self) -> bool:
        return True  # the bar rewrites its line in place here

    def write(self, text: str) -> int:
        if ERASE_LINE in text and text.startswith("\r"):
            ends_line = text.endswith("\n")
            visible = text[1:].replace(ERASE_LINE, "").rstrip("\n")
            text = "\r" + visible.ljust(self.width) + ("\n" if ends_line else "")
            self.width = 0 if ends_line else len(visible)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def in_notebook() -> bool:
    return "ipykernel" in sys.modules and not sys.stderr.isatty()


def progress_bar(total: int, unit: str = "step", enabled: bool = True) -> ProgressBar | None:
    """A bar on stderr for `total` units, or None when `enabled` is False."""
    if not enabled:
        return None
    stream = NotebookStream(sys.stderr) if in_notebook() else sys.stderr
    return ProgressBar(total, unit=unit, stream=stream)
