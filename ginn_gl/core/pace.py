"""The window's training pace: snapshots per second, the unit of playback, so live looks like replay.

Early in a run every step is a snapshot and training at a pace is slow enough to see each one;
later, when snapshots are hundreds of steps apart, the hardware cannot keep the pace and trains at
full speed. The worker asks `delay()` before it records a snapshot and sleeps that long.
"""

from __future__ import annotations

import math

from ginn_gl.core.errors import UserError

DEFAULT_PACE = 24.0  # snapshots a second: a film's frame rate, each snapshot a frame
MIN_PACE, MAX_PACE = 0.25, 480.0  # the slider's range; above it the pace is "max" (no limit)
SMOOTHING = 1.0  # seconds over which the measured snapshot rate is averaged


def parse_pace(text: str) -> float | None:
    """`24` -> 24.0, `max` -> None (no limit)."""
    if text.strip().lower() == "max":
        return None
    try:
        pace = float(text)
    except ValueError:
        pace = float("nan")
    if not (math.isfinite(pace) and MIN_PACE <= pace <= MAX_PACE):
        raise UserError(f"--pace {text!r} is not a pace; give snapshots per second from {MIN_PACE:g} to "
                        f"{MAX_PACE:g}, or max for no limit (default {DEFAULT_PACE:g})")
    return pace


def pace_label(pace: float | None) -> str:
    return "max" if pace is None else f"{pace:.3g}/s"


class Pacer:
    """Spaces snapshots at most `pace` a second by the wall clock, and measures the pace achieved."""

    def __init__(self, pace: float | None = None):
        self.pace = pace  # snapshots per second; None: no limit (set from any thread)
        self.rate = 0.0  # snapshots per second recorded, smoothed
        self.keeping_pace = False  # the last snapshot had to wait for the pace: the hardware keeps up
        self._last: float | None = None  # when the last snapshot was recorded

    def delay(self, now: float) -> float:
        """Seconds to wait before the next snapshot may be recorded (0: record now)."""
        pace = self.pace
        if pace is None or self._last is None:
            return 0.0
        return max(0.0, self._last + 1.0 / pace - now)

    def recorded(self, now: float, waited: bool) -> None:
        """A snapshot was recorded at `now`, after waiting for the pace or not."""
        if self._last is not None and now > self._last:
            weight = 1.0 - math.exp(-(now - self._last) / SMOOTHING)
            instant = 1.0 / (now - self._last)
            self.rate = instant if self.rate == 0.0 else self.rate + weight * (instant - self.rate)
        self.keeping_pace = waited
        self._last = now
