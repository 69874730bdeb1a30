"""An Xvfb of our own (never the caller's display), for the window tests and the benches alike."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess


class XvfbError(RuntimeError):
    """Xvfb is missing or did not start."""


def launch_xvfb(width: int = 1600, height: int = 1000) -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on a free display; returns the process and the display's name (":N")."""
    if not shutil.which("Xvfb"):
        raise XvfbError("no Xvfb (Debian: apt install xvfb xauth)")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(read, 1)
        if not chunk:  # Xvfb exited before it named its display
            os.close(read)
            raise XvfbError("Xvfb did not start")
        number += chunk
    os.close(read)
    return proc, f":{number.decode().strip()}"


def start_xvfb(width: int = 1600, height: int = 1000) -> str:
    """For a bench: an Xvfb for the rest of the process, DISPLAY pointed at it; returns the display's name."""
    try:
        proc, name = launch_xvfb(width, height)
    except XvfbError as exc:
        raise SystemExit(f"this bench needs {exc}") from None
    atexit.register(proc.terminate)
    os.environ["DISPLAY"] = name
    return name
