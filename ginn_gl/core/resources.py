"""Locating the shaders/ and assets/ folders in a wheel install or in a source checkout."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # ginn_gl/, above core/


def _find(folder: str) -> Path | None:
    # A wheel carries them inside the package; an editable install reads the source tree.
    for base in (_PACKAGE, _PACKAGE.parent):
        candidate = base / folder
        if candidate.is_dir():
            return candidate
    return None


def shader_dir() -> Path:
    found = _find("shaders")
    if found is None:
        raise FileNotFoundError("ginn-gl's shaders/ folder is missing from this install; reinstall ginn-gl")
    return found


def asset_path(name: str) -> Path | None:
    base = _find("assets")
    if base is None:
        return None
    path = base / name
    return path if path.exists() else None


def available_bytes() -> int:
    """Memory the machine can give now (Linux's MemAvailable; elsewhere the free physical pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 34  # unknown: 16 GB


def die_with_parent() -> None:
    """Linux: the kernel kills this (child) process when its parent dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the line above: no one will read our answers
        raise SystemExit(0)


def start_child(module: str) -> subprocess.Popen[bytes]:
    """`python -m module` with pipes to and from it, in a session of its own (Ctrl+C and a closed terminal
    reach this process only, which decides), killed at exit if it is still running then."""
    process = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    _CHILDREN.add(process)
    return process


def child_ended(process: subprocess.Popen[bytes]) -> None:
    """The caller has ended `process`: no longer killed at exit."""
    _CHILDREN.discard(process)


_CHILDREN: set[subprocess.Popen[bytes]] = set()  # helper processes not ended yet: none outlives this process


@atexit.register
def end_children() -> None:
    """Kill every helper process not ended yet (at exit; tests call it between tests)."""
    for process in list(_CHILDREN):
        _CHILDREN.discard(process)
        process.kill()
        process.wait()
