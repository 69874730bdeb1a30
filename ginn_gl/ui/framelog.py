"""`--frame-log PATH`: one JSON object per presented frame, for benches and performance reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ginn_gl.core.errors import UserError
from ginn_gl.core.outputs import partial_path, place, printable


class FrameLog:
    """Keys (more may come): t (time.time() right after the swap), step (of the snapshot the view
    shows), newest (the newest recorded step), training, scale (the view's resolution relative to
    full), view_ms (drawing the view this frame, null if not redrawn), keys (handled this frame).

    The path was checked as every output is (cli.arguments.window_options). A write that fails later
    (a full disk) ends the log with one line and never the window: the run it watches is worth more."""

    def __init__(self, path: str | Path, overwrite: bool = False):
        self.path = Path(path)
        self.problem: str | None = None
        tmp = partial_path(self.path)
        try:
            tmp.unlink(missing_ok=True)
            self.file = open(tmp, "x", encoding="utf-8", buffering=1)  # line-buffered: readable live
            # Moved into place, never opened through it: a link there is replaced, its target left alone.
            self.path = place(tmp, self.path, overwrite)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
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
