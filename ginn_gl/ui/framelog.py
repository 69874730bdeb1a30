"""`--frame-log PATH`: one JSON object per presented frame, for benches and performance reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ginn_gl.core.errors import UserError
from ginn_gl.core.outputs import printable


class FrameLog:
    """Keys (more may come): t (time.time() right after the swap), step (of the snapshot the view
    shows), newest (the newest recorded step), training, scale (the view's resolution relative to
    full), view_ms (drawing the view this frame, null if not redrawn), keys (handled this frame).

    The path was checked as every output is (cli.arguments.window_options). A write that fails later
    (a full disk) ends the log with one line and never the window: the run it watches is worth more."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.problem: str | None = None
        try:
            self.file = open(path, "w", encoding="utf-8", buffering=1)  # line-buffered: readable live
        except OSError as exc:
            raise UserError(f"cannot write the frame log {printable(path)} ({exc.strerror}); give a writable "
                            "path") from None

    def write(self, **entry: object) -> None:
        if self.problem is not None:
            return
        try:
            self.file.write(json.dumps(entry) + "\n")
        except OSError as exc:
            self.problem = f"the frame log {printable(self.path)} stopped ({exc.strerror or exc}); training goes on"
            print(f"ginn-gl: {self.problem}", file=sys.stderr, flush=True)

    def close(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass
