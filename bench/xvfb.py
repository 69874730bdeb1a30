"""An Xvfb of the bench's own (never the caller's display): started on import's request, killed at exit."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess


def start_xvfb(width: int = 1600, height: int = 1000) -> str:
    """Start Xvfb on a free display, point DISPLAY at it, and return the display's name."""
    if not shutil.which("Xvfb"):
        raise SystemExit("this bench needs Xvfb (Debian: apt install xvfb xauth)")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(read, 1)
        if not chunk:  # Xvfb exited before it named its display
            raise SystemExit("Xvfb did not start")
        number += chunk
    os.close(read)
    atexit.register(proc.terminate)
    os.environ["DISPLAY"] = f":{number.decode().strip()}"
    return os.environ["DISPLAY"]
