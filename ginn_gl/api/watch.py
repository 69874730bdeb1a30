"""`ginn_gl.watch`: a Recorder whose snapshots are also shown live, in the window, by a viewer process
of its own. The user's loop only records (Recorder.record); a sender thread streams what the history
holds to the viewer's pipe, so the loop never waits for the window, and a window closed early only
ends the stream: recording goes on, and the run saved at the end holds every snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np

import ginn_gl.api.stream as stream
from ginn_gl.api.options import OptionError, as_keywords, real, text
from ginn_gl.api.recorder import Recorder
from ginn_gl.api.run import npz_name
from ginn_gl.core.network import describe
from ginn_gl.core.outputs import check_output
from ginn_gl.core.runfile import save_with_fallback
from ginn_gl.core.targets import DEFAULT_IMAGE

VIEWER_MODULE = "ginn_gl.api.viewer"
SEND_SECONDS = 0.05  # how often the sender looks for new snapshots: 20 times a second
CLOSE_SECONDS = 5.0  # at the end, the sender has this long to hand the window the rest


def has_display() -> bool:
    """Whether a window can open here at all (on Linux and the BSDs: an X or Wayland display)."""
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def parse_window_size(value: object) -> tuple[int, int]:
    if isinstance(value, str):
        width, _, height = value.lower().partition("x")
        value = (width, height)
    try:
        size = (int(value[0]), int(value[1]))  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        size = (0, 0)
    if not (320 <= size[0] <= 16384 and 240 <= size[1] <= 16384):
        raise OptionError(f"window_size={value!r} is not (width, height) from 320x240 to 16384x16384; give e.g. "
                          "window_size=(1600, 900)")
    return size


class Watcher(Recorder):
    """A Recorder that also shows its snapshots live in a window of its own (see `ginn_gl.watch`)."""

    def __init__(self, model: Any, image: str | os.PathLike = DEFAULT_IMAGE, *, save: str | os.PathLike | None = None,
                 overwrite: bool = False, title: str | None = None, fps: float = 60.0,
                 window_size: tuple[int, int] | str = (1600, 900), frame_log: str | os.PathLike | None = None,
                 recorder: dict[str, Any] | None = None, view: dict[str, Any] | None = None):
        from ginn_gl.api.options import view_settings

        with as_keywords("save"):
            self._save = None if save is None else check_output(npz_name(save), "save", overwrite)
        self._overwrite = overwrite
        size, fps = parse_window_size(window_size), real("fps", fps)
        if not 1.0 <= fps <= 1000.0:
            raise OptionError(f"fps={fps:g} is out of range; use 1 to 1000")
        with as_keywords("frame_log"):
            log = None if frame_log is None else str(check_output(os.fspath(frame_log), "frame_log", overwrite))
        from ginn_gl.api.model import ModelReader

        view_settings(ModelReader(model).sizes, view or {})  # checked before anything starts; the window builds it
        super().__init__(model, image, **(recorder or {}))
        self.saved: Path | None = None  # where the run went when the loop ended
        self._ending = threading.Event()
        self._window_gone = threading.Event()
        self._opened = threading.Event()
        self._warned = False
        self._process: subprocess.Popen[bytes] | None = None
        self._sender: threading.Thread | None = None
        label = f"{Path(self._config.image).stem} {describe(self._config.sizes)}"
        self.title = f"ginn-gl watch: {title or label}"
        options = {"sizes": self._config.sizes, "activation": self._config.activation, "head": self._config.head,
                   "title": self.title, "label": label, "steps": self._planned or 0,
                   "history_mb": self._config.history_mb, "device": str(self._reader.device), "view": view or {},
                   "fps": fps, "size": list(size), "frame_log": log, "frame_log_overwrite": overwrite}
        if not has_display():
            self._warn("there is no display (DISPLAY is not set)")
            return
        self._start_viewer(stream.Header(options, self._target.pixels))

    # ---- the viewer process -----------------------------------------------------------------------------

    def _start_viewer(self, header: stream.Header) -> None:
        package_root = str(Path(__file__).resolve().parents[2])  # the viewer imports this very ginn_gl
        env = dict(os.environ, LP_NUM_THREADS="1",  # a CPU rasteriser leaves the loop its cores
                   PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        # A session of its own: Ctrl+C in the loop's terminal stops the loop, not the window.
        self._process = subprocess.Popen([sys.executable, "-m", VIEWER_MODULE], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        assert self._process.stdout is not None and self._process.stdin is not None
        threading.Thread(target=self._listen, args=(self._process.stdout,), daemon=True,
                         name="ginn-gl-watch-listen").start()
        self._sender = threading.Thread(target=self._send, args=(self._process.stdin, header), daemon=True,
                                        name="ginn-gl-watch-send")
        self._sender.start()

    def _warn(self, why: str, thread: bool = False, opened: bool = False) -> None:
        """One warning per Watcher; from the listener thread, attributed to this module (not threading's)."""
        if self._warned:
            return
        self._warned = True
        what = "the window failed" if opened else "the window cannot open"
        message = f"ginn_gl.watch: {what}: {why}; recording goes on without it"
        if thread:
            warnings.warn_explicit(message, RuntimeWarning, __file__, 0, module=__name__)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    def _listen(self, lines: IO[bytes]) -> None:
        """The viewer's answers: "open", or "error: ..." (then it exits); the end of its output is its end."""
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if line == "open":
                self._opened.set()
            elif line.startswith("error: "):
                self._warn(line[len("error: "):], thread=True)
            elif line.startswith("failed: "):
                self._warn(line[len("failed: "):], thread=True, opened=True)
        self._window_gone.set()

    def _send(self, pipe: IO[bytes], header: stream.Header) -> None:
        """The sender thread: what the history holds, as it grows, to the viewer; never the loop's thread."""
        sent = Sent()
        try:
            pipe.write(header.pack())
            while not self._window_gone.is_set():
                ending = self._ending.wait(SEND_SECONDS)
                pipe.write(self._news(sent))
                pipe.flush()
                if ending:
                    pipe.write(stream.end(self._state, self._message))
                    break
            pipe.close()
        except (OSError, ValueError):  # the window was closed (its process ended): the stream ends, not the loop
            self._window_gone.set()

    def _news(self, sent: Sent) -> bytes:
        """The frames for what the history holds that the viewer has not had yet."""
        history = self._history
        record = history.record()
        frames = []
        for index in np.flatnonzero(record.steps > sent.step):
            step = int(record.steps[index])
            weights = history.weights_at(step)
            if weights is not None:  # else thinned away meanwhile
                frames.append(stream.snapshot(step, float(record.losses[index]), weights))
        if len(record.steps):
            sent.step = max(sent.step, int(record.steps[-1]))
        fresh = record.loss_steps > sent.loss_step
        if fresh.any():
            frames.append(stream.losses(record.loss_steps[fresh], record.loss[fresh]))
            sent.loss_step = int(record.loss_steps[-1])
        measured = np.flatnonzero((record.regions >= 0) & (record.steps > sent.geometry_step)
                                  & (record.steps <= sent.step))  # the helper answers in the order it was asked
        for index in measured:
            frames.append(stream.geometry(int(record.steps[index]), int(record.regions[index]),
                                          record.density[index], record.status[index]))
        if len(measured):
            sent.geometry_step = int(record.steps[measured[-1]])
        now, step = time.perf_counter(), self._step
        if step != sent.progress_step:
            rate = (step - sent.progress_step) / (now - sent.progress_time) if now > sent.progress_time else 0.0
            sent.rate = rate if not sent.rate else sent.rate + 0.3 * (rate - sent.rate)
            sent.progress_step, sent.progress_time = step, now
            loss = float(record.loss[-1]) if len(record.loss) else float("nan")
            frames.append(stream.progress(step, sent.rate, loss, now - self._started, self._geometry.lag))
        return b"".join(frames)

    # ---- the user's side --------------------------------------------------------------------------------

    @property
    def window_open(self) -> bool:
        """The window has opened and is not closed yet."""
        return self._opened.is_set() and not self._window_gone.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the window is closed (a script's last line, to scrub before it exits); True when it
        is closed or never opened."""
        if self._process is None:
            return True
        return self._window_gone.wait(timeout)

    def window_exit_status(self, timeout: float | None = None) -> int | None:
        """The window process's exit status once it has ended (0: closed normally); None when no window was
        started or it still runs after `timeout` s."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """End the recording (the last step's snapshot, its geometry), save the run if `save` was given,
        and hand the window the rest; the window stays open until it is closed."""
        if self._closed:
            return
        super().close()
        if self._save is not None:
            self.saved, problem = save_with_fallback(self._save, self._run_record(), self._overwrite)
            if problem is not None:
                warnings.warn(f"ginn_gl.watch: {problem}", RuntimeWarning, stacklevel=2)
        self._ending.set()
        if self._sender is not None:
            self._sender.join(CLOSE_SECONDS)

    def __enter__(self) -> Watcher:
        return self


class Sent:
    """How far the viewer has been sent each part of the history."""

    def __init__(self) -> None:
        self.step = -1
        self.loss_step = 0
        self.geometry_step = -1
        self.progress_step = 0
        self.progress_time = time.perf_counter()
        self.rate = 0.0


def watch(model: Any, image: str | os.PathLike = DEFAULT_IMAGE, save: str | os.PathLike | None = None, *,
          overwrite: bool = False, resolution: int = 200, threshold: str = "mid", steps: int | None = None,
          geometry: bool = True, history_mb: float = 64.0, title: str | None = None, fps: float = 60.0,
          window_size: tuple[int, int] | str = (1600, 900), frame_log: str | os.PathLike | None = None,
          **view: Any) -> Watcher:
    """Record your own model as your loop trains it (a `ginn_gl.Recorder`) and watch it live in the
    ginn-gl window, which runs in a process of its own (your loop stays in your thread).

        with ginn_gl.watch(model, image="bottle", save="runs/mine.npz") as rec:
            for step in range(1, 20_001):
                ...  # forward, backward, optimiser step
                rec.record(step, loss)

    Snapshots stream to the window as they are recorded; sending never blocks the loop. When the loop
    ends (the `with` block, or close()), the run is saved to `save` (an existing file is replaced only
    with overwrite=True) and the window stays open for scrubbing until you close it (`rec.wait()`
    waits for that). Closing the window early ends only the window: the loop runs on at its own speed
    and every later step is still recorded and saved. With no display there is one warning, and
    recording goes on. Pause in the window holds its view still; the loop is never paused or paced.

    resolution, threshold, steps, geometry, history_mb: as Recorder's. title: the window's title (after
    "ginn-gl watch: "); fps, window_size ((w, h) or "WxH"), frame_log (a JSON line per frame): as the
    window's --fps, --window-size, --frame-log. **view: the view it opens with, as Run.render's
    (view="regions", neurons="1:*", solo="1:3", contrast="stretch", ...).
    """
    recorder = {"resolution": resolution, "threshold": text("threshold", threshold), "steps": steps,
                "geometry": geometry, "history_mb": history_mb}
    return Watcher(model, image, save=save, overwrite=overwrite, title=title, fps=fps, window_size=window_size,
                   frame_log=frame_log, recorder=recorder, view=view)
