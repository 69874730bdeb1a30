"""Ctrl+C, SIGTERM and SIGHUP (from `timeout`, `docker stop`, systemd, a closed terminal) all end a
run the same way: the worker stops and what was recorded is saved. While it is being saved, more
signals wait until the file is whole; once it is saved, they are ignored."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPPING = (signal.SIGINT, signal.SIGTERM) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())


class SignalGuard:
    """Installed in the main thread: a stopping signal raises KeyboardInterrupt there, as Ctrl+C does,
    except while shielded (a run is being saved), when it is only counted (a wait may end on it)."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first stopping signal
        self.count = 0  # stopping signals so far: a wait that a signal may cut short watches it
        self._shielded = False
        for sig in STOPPING:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        first = self.received is None
        self.received = self.received or signum
        self.count += 1
        if first and not self._shielded:
            raise KeyboardInterrupt

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a process it ended (130 for Ctrl+C)."""
        return 128 + int(self.received or signal.SIGINT)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """While ending and saving: signals are counted, never raised, so the save cannot be cut in half."""
        self._shielded = True
        try:
            yield
        finally:
            self._shielded = False

    def saved(self) -> None:
        """Once the runs are saved, the program only reports and exits: later signals are ignored. (A
        handler of ours would be reset while Python exits, so a late second Ctrl+C would kill it.)"""
        for sig in STOPPING:
            signal.signal(sig, signal.SIG_IGN)
