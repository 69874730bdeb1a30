"""`ginn-gl train`'s progress bar on stderr."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """A one-line progress bar on stderr; on a non-terminal, a line every 10%."""

    def __init__(self, total: int, unit: str = "step", stream=sys.stderr):
        self.total = total
        self.unit = unit
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.perf_counter()
        self.last_decile = -1
        self.last_step = -1
        self.finished = False  # the final line is written
        self._noted = ""

    def update(self, step: int, rate: float, detail: str, final: bool = False) -> None:
        """`step` of the total done at `rate` a second; `detail` (e.g. the loss) follows the rate."""
        fraction = step / self.total if self.total else 1.0
        elapsed = time.perf_counter() - self.started
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        speed = f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}"
        text = (f"{fraction:6.1%} {self.unit} {step:,}/{self.total:,}  {speed} {self.unit}s/s  "
                f"{detail}  {clock(elapsed)} elapsed" + ("" if final else f", ETA {clock(eta)}"))
        if self.tty:
            width = 24
            filled = int(width * fraction)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\x1b[K")
            if final:
                self.stream.write("\n")
        else:
            decile = int(fraction * 10)
            if decile == self.last_decile and not final:  # the final line gives the whole run's rate
                return
            self.last_decile = decile
            self.stream.write(text + "\n")
        self.last_step = step
        self.finished = final
        self.stream.flush()

    def note(self, text: str, final: bool = False) -> None:
        """A line under the finished bar: rewritten in place on a terminal and erased when `final`
        (elsewhere written once, in its first wording)."""
        if self.tty:
            self.stream.write("\r\x1b[K" if final else f"\r{text}\x1b[K")
        elif not final and not self._noted:
            self.stream.write(text + "\n")
        self._noted = "" if final else text
        self.stream.flush()


def clock(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"
