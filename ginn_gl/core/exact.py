"""The exact geometry of a snapshot, from its linear partition of the picture's rectangle of the input
plane (data_rect: [0,1]^2 for a square target, [0, W/L] x [0, H/L] for others; core.partition): what
the geometry helper records per snapshot, `info` reports and the run file's meta key "geometry" names.

- regions: the number of linear regions (distinct activation patterns) in that rectangle, exactly: every
  convex piece however small, except slivers thinner than the partition's TOLERANCE (1e-12).
- density: the hidden neurons' boundary length per unit area, in pixels of the target (a length in
  px over an area in px^2), within RADIUS px of the target's edges (cells near_edges() marks) and
  elsewhere; the output's p = 0.5 boundary is not counted.
- status: each hidden neuron dead (inactive in every region of the picture), always on (active in every
  one: its line never crosses the picture) or switching (core.lifecycle's NeuronStatus codes).

Files written before this (no "geometry" key) hold the older pixel-centre counts: distinct patterns
among the target's pixel centres, and the mean number of boundaries within 2 px of a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ginn_gl.core.lifecycle import NeuronStatus
from ginn_gl.core.partition import Partition, partition, partitions, ragged_indices
from ginn_gl.core.targets import extent

EXACT = "exact"  # meta["geometry"] of files measured here
PIXEL_CENTRES = "pixel centres"  # what a file without the key holds
GEOMETRY_KINDS = (EXACT, PIXEL_CENTRES)
RADIUS = 2  # pixels: "near" the target's edges
UNIT = (0.0, 0.0, 1.0, 1.0)


def data_rect(shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """The input plane's rectangle a target of `shape` (H, W) covers: the picture, its long side [0, 1]."""
    width, height = extent(shape)
    return (0.0, 0.0, width, height)


def geometry_kind(meta: dict) -> str:
    """Which geometry a run file's regions, density and status hold."""
    return str(meta.get("geometry", PIXEL_CENTRES))


def measure(weights: np.ndarray, sizes: list[int], activation: str,
            near: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The geometry of K snapshots [K, P] in one partitions() pass: regions int32 [K], density float32
    [K, 2] (near the edges `near` [H, W] marks, elsewhere), status int8 [K, N]."""
    parts = partitions(weights, sizes, activation, data_rect(near.shape))
    regions = np.array([part.count for part in parts], dtype=np.int32)
    status = np.stack([part.status() for part in parts]).astype(np.int8)
    return regions, densities(parts, near).astype(np.float32), status


def summary(flat: np.ndarray, sizes: list[int], activation: str, target: np.ndarray) -> dict[str, object]:
    """One snapshot's exact geometry, measured now (for `info --json`, whatever the file holds): counts,
    densities and boundary lengths in target pixels."""
    part = partition(flat, sizes, activation, data_rect(target.shape))
    height, width = target.shape
    near, far = boundary_density(part, near_edges(target))
    status = part.status()
    long = max(height, width)  # target pixels per input unit, on either axis

    def pixels(segments: np.ndarray) -> float:
        delta = (segments[:, 2:] - segments[:, :2]) * long
        return float(np.hypot(delta[:, 0], delta[:, 1]).sum())

    return {"regions": part.count, "density_near_edges": near, "density_elsewhere": far,
            "boundary_px": pixels(part.neuron_segments), "output_boundary_px": pixels(part.output_segments),
            "smallest_region_px2": float(part.areas.min() * long * long),
            "neurons": {"switching": int((status == NeuronStatus.SWITCHING).sum()),
                        "dead": int((status == NeuronStatus.DEAD).sum()),
                        "always_on": int((status == NeuronStatus.ALWAYS_ON).sum())}}


def describe(kind: str, regions: int, density: tuple[float, float]) -> str:
    """A run's stored geometry in words, as its kind measured it (`info`)."""
    if kind == EXACT:
        return (f"{regions:,} linear regions in the picture (exact); neuron boundaries {density[0]:.3f} px per px^2 "
                f"within {RADIUS} px of the target's edges, {density[1]:.3f} elsewhere")
    return (f"{regions:,} linear regions among the pixel centres; {density[0]:.2f} boundaries within {RADIUS} px near "
            f"the target's edges, {density[1]:.2f} elsewhere")


def clipped_area(polygon: np.ndarray, rect: tuple[float, float, float, float] = UNIT) -> float:
    """The area of a convex polygon [V, 2] inside `rect` (Sutherland-Hodgman against its four sides)."""
    points = [tuple(p) for p in np.asarray(polygon, dtype=np.float64)]
    x0, y0, x1, y1 = rect
    for axis, bound, keep_above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        kept = []
        for a, b in zip(points, points[1:] + points[:1]):
            inside_a, inside_b = ((a[axis] >= bound, b[axis] >= bound) if keep_above
                                  else (a[axis] <= bound, b[axis] <= bound))
            if inside_a:
                kept.append(a)
            if inside_a != inside_b:
                t = (bound - a[axis]) / (b[axis] - a[axis])
                kept.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
        points = kept
        if not points:
            return 0.0
    xy = np.array(points)
    return float(0.5 * abs(np.dot(xy[:, 0], np.roll(xy[:, 1], -1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], -1))))


@dataclass(frozen=True)
class RegionFacts:
    """What the window's hover says of one linear region."""

    index: int
    count: int  # regions in the partition
    layers: list[tuple[str, int, int]]  # per hidden layer: its pattern ("1011 0010"), neurons on, neurons
    share: float  # its area in the picture's rectangle, a share of the picture
    pixels: float  # ... in target pixels
    slope: tuple[float, float]  # the logit is slope . (x, y) + intercept on it
    intercept: float
    polygon: np.ndarray  # float64 [V, 2]

    @property
    def steepness(self) -> float:
        return float(np.hypot(*self.slope))


def region_facts(part: Partition, region: int, height: int, width: int) -> RegionFacts:
    """The facts of region `region` of a partition, for an H x W target's picture."""
    pattern = part.patterns[region]
    layers, first = [], 0
    for n in part.sizes[1:-1]:
        bits = "".join("1" if on else "0" for on in pattern[first:first + n])
        layers.append((" ".join(bits[i:i + 4] for i in range(0, n, 4)), int(pattern[first:first + n].sum()), n))
        first += n
    polygon = part.vertices[part.starts[region]:part.starts[region + 1]]
    rect = data_rect((height, width))
    share = clipped_area(polygon, rect) / (rect[2] * rect[3])
    slope = (float(part.slopes[region, 0]), float(part.slopes[region, 1]))
    return RegionFacts(region, part.count, layers, share, share * height * width, slope,
                       float(part.intercepts[region]), polygon)


def densities(parts: list[Partition], near: np.ndarray) -> np.ndarray:
    """float64 [K, 2]: boundary_density() of each partition (all over one rect), in one pass over all
    their segments."""
    near = np.asarray(near, dtype=bool)
    counts = [len(part.neuron_segments) for part in parts]
    segments = np.concatenate([part.neuron_segments for part in parts]) if parts else np.zeros((0, 4))
    snapshot = np.repeat(np.arange(len(parts)), counts)
    owner, cell, length = segment_cells(segments, parts[0].rect if parts else UNIT, *near.shape)
    is_near = near.ravel()[cell]
    per = [np.bincount(snapshot[owner], weights=length * where, minlength=len(parts)) for where in (is_near, ~is_near)]
    area = (max(int(near.sum()), 1), max(int((~near).sum()), 1))
    return np.stack([per[0] / area[0], per[1] / area[1]], axis=1)


def segment_cells(segments: np.ndarray, rect: tuple[float, float, float, float], height: int,
                  width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments [S, 4] cut at the cell borders of an H x W grid over `rect`: each piece's segment, cell
    (r * W + c, its midpoint's) and length in cells; vectorised over segments (of many snapshots)."""
    x0, y0, x1, y1 = rect
    scale = np.array([width / (x1 - x0), height / (y1 - y0)])
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    start = (seg[:, :2] - (x0, y0)) * scale  # in pixels: column, row
    delta = (seg[:, 2:] - (x0, y0)) * scale - start
    cuts = [np.zeros(len(seg)), np.ones(len(seg))]  # each segment's parameters t of its piece ends
    owners = [np.arange(len(seg)), np.arange(len(seg))]
    for axis in (0, 1):  # the integer column (row) borders strictly inside each segment's span
        low = np.minimum(start[:, axis], start[:, axis] + delta[:, axis])
        high = np.maximum(start[:, axis], start[:, axis] + delta[:, axis])
        first, count = np.floor(low) + 1, np.maximum(np.ceil(high) - np.floor(low) - 1, 0).astype(np.int64)
        owner = np.repeat(np.arange(len(seg)), count)
        border = first[owner] + ragged_indices(np.zeros(len(count), np.int64), count)
        cuts.append((border - start[owner, axis]) / delta[owner, axis])
        owners.append(owner)
    owner, t = np.concatenate(owners), np.clip(np.concatenate(cuts), 0.0, 1.0)
    order = np.lexsort((t, owner))
    owner, t = owner[order], t[order]
    piece = np.flatnonzero(owner[1:] == owner[:-1])  # consecutive cuts of one segment bound a piece
    middle = start[owner[piece]] + 0.5 * (t[piece] + t[piece + 1])[:, None] * delta[owner[piece]]
    column = np.clip(np.floor(middle[:, 0]), 0, width - 1).astype(np.int64)
    row = np.clip(np.floor(middle[:, 1]), 0, height - 1).astype(np.int64)
    length = (t[piece + 1] - t[piece]) * np.hypot(delta[owner[piece], 0], delta[owner[piece], 1])
    return owner[piece], row * width + column, length


def cell_lengths(partition: Partition, height: int, width: int) -> np.ndarray:
    """float64 [H, W]: the length, in pixels, of the hidden neurons' boundaries in each cell of an H x W
    grid over the rect (cell (r, c) covers the rect's [c/W, (c+1)/W] x [r/H, (r+1)/H]), exactly."""
    _, cell, length = segment_cells(partition.neuron_segments, partition.rect, height, width)
    return np.bincount(cell, weights=length, minlength=height * width).reshape(height, width)


def boundary_density(partition: Partition, near: np.ndarray) -> tuple[float, float]:
    """(length per unit area in the cells where `near` [H, W] is True, length per unit area in the
    others) of the hidden neurons' boundaries, in pixels and pixels^2 of an H x W target covering
    the rect; 0.0 for an empty set of cells."""
    near = np.asarray(near, dtype=bool)
    lengths = cell_lengths(partition, *near.shape)
    return (float(lengths[near].sum() / max(int(near.sum()), 1)),
            float(lengths[~near].sum() / max(int((~near).sum()), 1)))


def near_edges(target: np.ndarray, radius: int = RADIUS) -> np.ndarray:
    """bool [H, W]: the cells within `radius` pixels (Euclidean, centre to centre) of a cell of another value."""
    height, width = target.shape
    near = np.zeros((height, width), dtype=bool)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if 0 < dy * dy + dx * dx <= radius * radius:
                here = (slice(max(0, -dy), height - max(0, dy)), slice(max(0, -dx), width - max(0, dx)))
                there = (slice(max(0, dy), height + min(0, dy)), slice(max(0, dx), width + min(0, dx)))
                near[here] |= target[here] != target[there]
    return near
