"""Locating the shaders/ and assets/ folders in a wheel install or in a source checkout."""

from __future__ import annotations

import os
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
