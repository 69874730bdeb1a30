"""The window's training pace, in visible change per second: how fast the shown prediction may change.

A snapshot's change is the mean |p - p before| over the target's pixels between it and the snapshot
before, in percent of the picture. At a pace of 40 %/s a snapshot that changes the picture by 4 %
is shown a tenth of a second after the one before it: stretches where the picture hardly moves (the
first hundred steps, the long tail) pass at full speed, and the steps where the target's shape
appears (a few hundred, dense early) are spread over the seconds it takes to see them. The worker
asks `delay()` before it records a snapshot and sleeps that long. Playback keeps snapshots per
second (the slider's unit when not following live).
"""

from __future__ import annotations

import math

from ginn_gl.core.errors import UserError

DEFAULT_PACE = 40.0  # percent of the picture a second: the default run's shape is clear within 4-5 s
MIN_PACE, MAX_PACE = 1.0, 1000.0  # the slider's range; above it the pace is "max" (no limit)
DEFAULT_SPEED = 24.0  # playback in snapshots a second: a film's frame rate, each snapshot a frame
MIN_SPEED, MAX_SPEED = 0.25, 480.0
SMOOTHING = 1.0  # seconds over which the measured rates are averaged
PACE_UNIT = "%/s"


def parse_pace(text: str) -> float | None:
    """`40` -> 40.0 (percent of the picture a second), `max` -> None (no limit)."""
    if text.strip().lower() == "max":
        return None
    try:
        pace = float(text)
    except ValueError:
        pace = float("nan")
    if not (math.isfinite(pace) and MIN_PACE <= pace <= MAX_PACE):
        raise UserError(f"--pace {text!r} is not a pace; give how fast the picture may change, in percent of it a "
                        f"second, from {MIN_PACE:g} to {MAX_PACE:g}, or max for no limit (default {DEFAULT_PACE:g})")
    return pace


def pace_label(pace: float | None) -> str:
    return "max" if pace is None else f"{pace:.3g}{PACE_UNIT}"


class Pacer:
    """Spaces snapshots so the picture changes at most `pace` percent a second by the wall clock, and
    measures the snapshot rate and the change rate achieved."""

    def __init__(self, pace: float | None = None):
        self.pace = pace  # percent of the picture a second; None: no limit (set from any thread)
        self.rate = 0.0  # snapshots per second recorded, smoothed
        self.change_rate = 0.0  # percent of the picture a second shown, smoothed
        self.keeping_pace = False  # the last snapshot had to wait for the pace: the hardware keeps up
        self._last: float | None = None  # when the last snapshot was recorded

    def delay(self, now: float, change: float) -> float:
        """Seconds to wait before a snapshot that changes the picture by `change` percent may be recorded."""
        pace = self.pace
        if pace is None or self._last is None:
            return 0.0
        return max(0.0, self._last + change / pace - now)

    def recorded(self, now: float, waited: bool, change: float = 0.0) -> None:
        """A snapshot changing the picture by `change` percent was recorded at `now`, after a wait or not."""
        if self._last is not None and now > self._last:
            weight = 1.0 - math.exp(-(now - self._last) / SMOOTHING)
            instant = 1.0 / (now - self._last)
            self.rate = instant if self.rate == 0.0 else self.rate + weight * (instant - self.rate)
            changing = change * instant
            self.change_rate = changing if self.change_rate == 0.0 else \
                self.change_rate + weight * (changing - self.change_rate)
        self.keeping_pace = waited
        self._last = now
