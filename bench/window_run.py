"""The window benches' shared start: the real `ginn-gl` window under an Xvfb of its own, with a frame log
and a saved run in a fresh folder, driven by xdotool."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from xvfb import start_xvfb  # bench/xvfb.py


def read_log(path: Path) -> list[dict]:
    """The frame log's entries so far (none while it is not there or a line is half written)."""
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError):
        return []


def xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, check=True).stdout.strip()


class WindowRun:
    """`ginn-gl OPTIONS` started in a fresh folder (`folder`), logging frames to `log`, saving to `run_path`."""

    def __init__(self, prefix: str, window: str, options: list[str], source: str | None = None):
        if not shutil.which("xdotool"):
            raise SystemExit("this bench needs xdotool (Debian: apt install xdotool)")
        width, height = (int(v) for v in window.split("x"))
        start_xvfb(width, height)
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        self.log, self.run_path = self.folder / "frames.jsonl", self.folder / "run.npz"
        command = [sys.executable, "-m", "ginn_gl", *options, "--window-size", window, "--frame-log", str(self.log),
                   "--save", str(self.run_path)]
        env = {**os.environ, **({"PYTHONPATH": source} if source else {})}  # another checkout's ginn-gl
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        cwd=self.folder, env=env)

    def kill_if_running(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
