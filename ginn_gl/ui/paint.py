"""Painting a target: a round brush along a stroke, on pixels of the target as the view shows it."""

from __future__ import annotations

import numpy as np


def pixel_of(point: tuple[float, float], shape: tuple[int, ...]) -> tuple[float, float]:
    """(column, row) of the target pixel whose centre an input-plane point is on (core.targets.extent)."""
    long = max(int(shape[0]), int(shape[1]))
    return point[0] * long - 0.5, point[1] * long - 0.5


def paint_stroke(pixels: np.ndarray, points: list[tuple[float, float]], radius: float, value: int) -> bool:
    """Set to `value` every pixel whose centre lies within `radius` pixels of the stroke through `points`
    (input-plane points; one point: a dot). Returns whether any pixel changed."""
    height, width = pixels.shape
    ends = [pixel_of(point, pixels.shape) for point in points]
    segments = list(zip(ends[:-1], ends[1:])) if len(ends) > 1 else [(ends[0], ends[0])]
    changed = False
    for (c0, r0), (c1, r1) in segments:
        left, right = int(np.floor(min(c0, c1) - radius)), int(np.ceil(max(c0, c1) + radius))
        top, bottom = int(np.floor(min(r0, r1) - radius)), int(np.ceil(max(r0, r1) + radius))
        left, top, right, bottom = max(left, 0), max(top, 0), min(right, width - 1), min(bottom, height - 1)
        if left > right or top > bottom:
            continue
        cols, rows = np.meshgrid(np.arange(left, right + 1), np.arange(top, bottom + 1))
        dc, dr = c1 - c0, r1 - r0
        length = dc * dc + dr * dr
        t = np.clip(((cols - c0) * dc + (rows - r0) * dr) / length, 0.0, 1.0) if length > 0 else 0.0
        inside = (cols - (c0 + t * dc)) ** 2 + (rows - (r0 + t * dr)) ** 2 <= radius * radius
        region = pixels[top:bottom + 1, left:right + 1]
        changed |= bool((region[inside] != value).any())
        region[inside] = value
    return changed
