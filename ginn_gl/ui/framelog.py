"""`--frame-log PATH`: one JSON object per presented frame, for benches and performance reports."""

from __future__ import annotations

import json
from pathlib import Path

from ginn_gl.core.errors import UserError


class FrameLog:
    """Keys (more may come): t (time.time() right after the swap), step (of the snapshot the view
    shows), newest (the newest recorded step), training, scale (the view's resolution relative to
    full), view_ms (drawing the view this frame, null if not redrawn), keys (handled this frame)."""

    def __init__(self, path: str | Path):
        try:
            self.file = open(path, "w", encoding="utf-8", buffering=1)  # line-buffered: readable live
        except OSError as exc:
            raise UserError(f"cannot write the frame log {path} ({exc.strerror}); give a writable path") from None

    def write(self, **entry) -> None:
        self.file.write(json.dumps(entry) + "\n")

    def close(self) -> None:
        self.file.close()
