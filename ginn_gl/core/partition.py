"""The exact linear partition of a ReLU network's input plane: every linear region inside a rectangle
as a convex polygon, with its activation pattern and the affine logit on it, and every hidden
neuron's zero set as segments. Plain numpy, vectorised over polygons and over snapshots.

How: layer by layer refinement. Every polygon carries the affine map from (x, y, 1) to the previous
layer's activations, so a neuron's pre-activation is affine inside it and its zero set is a line.
Each neuron of a layer in turn splits the polygons its line crosses (all snapshots' polygons in one
set of ragged arrays); after the layer, each piece's map takes its activation slopes. A pattern
holds on one convex polygon, so the pieces are the regions.

Tolerance: a vertex is on a neuron's line when its distance to it (the value over the gradient's
norm) is at most TOLERANCE = 1e-12 input units; a polygon is cut only by a line with vertices beyond
that on both sides, so no piece is thinner. Where a neuron has no gradient, the sign of its constant
decides (0 is inactive). Polygons run counter-clockwise with y up (positive shoelace area), so
clockwise on screen, where y points down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ginn_gl.core.lifecycle import NeuronStatus
from ginn_gl.core.network import ACTIVATIONS, activation_named, evaluate, layer_slices, parameter_count

TOLERANCE = 1e-12  # input units: a vertex this close to a neuron's line is on it
CHORD_ENTRIES = 1 << 20  # (polygon, neuron) pairs a chord pass holds at once: bounds its memory
PASS_BUDGET = 1 << 20  # snapshots a pass: this over N^2 (2-D regions grow like N^2): 455 of 2-16-16-16-1, 4 of 2-64x8-1
LOCATE_CHUNK = 1 << 16  # points a forward pass of locate() takes at once


@dataclass(frozen=True, eq=False)
class Partition:
    """The linear regions of one snapshot inside `rect`; region r is vertices[starts[r]:starts[r+1]]."""

    vertices: np.ndarray  # float64 [V, 2]
    starts: np.ndarray  # int64 [R + 1]
    patterns: np.ndarray  # bool [R, N]: hidden neurons layer by layer, True where pre-activation > 0
    slopes: np.ndarray  # float64 [R, 2]: the logit is slopes . (x, y) + intercepts in the region
    intercepts: np.ndarray  # float64 [R]
    areas: np.ndarray  # float64 [R]
    neuron_segments: np.ndarray  # float64 [S, 4]: x0, y0, x1, y1 of pieces of hidden neurons' zero sets
    segment_neurons: np.ndarray  # int32 [S]: flat hidden-neuron index of each segment
    output_segments: np.ndarray  # float64 [T, 4]: the logit = 0 (p = 0.5) boundary
    flat: np.ndarray  # the parameters, float64
    sizes: tuple[int, ...]
    activation: str
    rect: tuple[float, float, float, float]

    @property
    def count(self) -> int:
        return len(self.starts) - 1

    def status(self) -> np.ndarray:
        """int8 [N]: NeuronStatus DEAD (inactive in every region), ALWAYS_ON (active in every one) or SWITCHING."""
        status = np.full(self.patterns.shape[1], NeuronStatus.SWITCHING, dtype=np.int8)
        status[~self.patterns.any(axis=0)] = NeuronStatus.DEAD
        status[self.patterns.all(axis=0)] = NeuronStatus.ALWAYS_ON
        return status

    def fingerprints(self) -> np.ndarray:
        """uint32 [R]: shaders/network.glsl's pattern fingerprint, the XOR of the active neurons' keys."""
        index = np.arange(self.patterns.shape[1], dtype=np.uint32)
        keys = mix32(index * np.uint32(0x9E3779B9) + np.uint32(0x632BE5AB))
        return np.bitwise_xor.reduce(np.where(self.patterns, keys, np.uint32(0)), axis=1).astype(np.uint32)

    def colours(self) -> np.ndarray:
        """uint8 [R, 3]: each region's colour in the regions view, as the shader computes it."""
        c = mix32(self.fingerprints() ^ np.uint32(0x5BD1E995))
        channels = [(c >> np.uint32(shift)) & np.uint32(255) for shift in (0, 8, 16)]
        return np.stack([48 + ch * np.uint32(200) // np.uint32(256) for ch in channels], axis=1).astype(np.uint8)

    def locate(self, points: np.ndarray) -> np.ndarray:
        """int64 [M]: the region holding each point, by its activation pattern; -1 outside the rect
        (or in a sliver thinner than TOLERANCE that no region stands for)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        table = _pattern_keys(self.patterns)
        order = np.argsort(table, kind="stable")
        found = np.full(len(points), -1, dtype=np.int64)
        x0, y0, x1, y1 = self.rect
        inside = np.flatnonzero(((points >= (x0, y0)) & (points <= (x1, y1))).all(axis=1))
        for first in range(0, len(inside), LOCATE_CHUNK):
            chosen = inside[first:first + LOCATE_CHUNK]
            hidden = evaluate(self.flat, list(self.sizes), self.activation, points[chosen]).hidden
            keys = _pattern_keys(np.concatenate(hidden, axis=1) > 0)
            at = np.minimum(np.searchsorted(table[order], keys), len(order) - 1)
            hit = table[order[at]] == keys
            found[chosen[hit]] = order[at[hit]]
        return found


def mix32(x: np.ndarray) -> np.ndarray:
    """The shader's lowbias32 hash on uint32 arrays (numpy's uint32 products wrap modulo 2^32)."""
    x = np.asarray(x, dtype=np.uint32)
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def _pattern_keys(patterns: np.ndarray) -> np.ndarray:
    """Each bool row packed into one comparable (void) scalar, for sorting and searching."""
    packed = np.ascontiguousarray(np.packbits(patterns, axis=1))
    return packed.view(np.dtype((np.void, max(packed.shape[1], 1)))).ravel()


def partition(flat: np.ndarray, sizes: list[int], activation: str,
              rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)) -> Partition:
    """The linear regions of one snapshot (a flat parameter vector of the run layout) inside `rect`."""
    return partitions(np.asarray(flat)[None], sizes, activation, rect)[0]


def partitions(weights: np.ndarray, sizes: list[int], activation: str,
               rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)) -> list[Partition]:
    """partition() of K snapshots [K, P] of one architecture, in one vectorised pass (for wide nets, a
    pass per PASS_BUDGET / N^2 snapshots, N hidden neurons)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is not one of {ACTIVATIONS}")
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if weights.shape[1] != parameter_count(sizes):
        raise ValueError(f"{weights.shape[1]} parameters do not fit layers {sizes}")
    x0, y0, x1, y1 = (float(v) for v in rect)
    if not (x0 < x1 and y0 < y1) or len(sizes) < 3 or sizes[0] != 2 or sizes[-1] != 1:
        raise ValueError(f"needs x0 < x1, y0 < y1 and layers 2-...-1 with hidden ones, not {rect}, {sizes}")
    group = max(1, PASS_BUDGET // sum(sizes[1:-1]) ** 2)
    if len(weights) > group or not len(weights):  # many snapshots of a wide net at once only thrash memory
        return [p for first in range(0, len(weights), group)
                for p in partitions(weights[first:first + group], sizes, activation, rect)]
    k = len(weights)
    leak = activation_named(activation).negative_slope
    *hidden, last = [(weights[:, s.weight].reshape(k, s.n_out, s.n_in), weights[:, s.bias])
                     for s in layer_slices(sizes)]
    verts = np.tile(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), (k, 1))
    starts = np.arange(0, 4 * k + 1, 4, dtype=np.int64)
    snap = np.arange(k)  # each polygon's snapshot; polygons stay in snapshot order throughout
    aug = np.zeros((k, 3, 2))  # per polygon, (x, y, 1) -> the layer's inputs: row d, column input
    aug[:, 0, 0] = aug[:, 1, 1] = 1.0
    blocks: list[np.ndarray] = []  # per hidden layer, the polygons' activity bits
    found = []  # per hidden layer: (segments, their neurons, their snapshots)
    first_neuron = 0
    for w, b in hidden:
        coef = _layer_lines(aug, snap, w, b)  # [R, 3, n]: each neuron's affine pre-activation
        chords, chord_poly, chord_neuron, crossed, whole_active = _chords(verts, starts, coef)
        found.append((chords, first_neuron + chord_neuron, snap[chord_poly]))
        pool = _Pool(verts, starts, w.shape[1])
        for j in range(w.shape[1]):
            pool.split(j, coef[:, :, j], crossed[:, j], whole_active[:, j])
        verts, starts, origin, bits = pool.compacted(snap)
        blocks, snap = [block[origin] for block in blocks] + [bits], snap[origin]
        aug = coef[origin]
        aug *= np.where(bits, 1.0, leak)[:, None, :]
        first_neuron += w.shape[1]
    out = _layer_lines(aug, snap, *last)[:, :, 0]
    logit_chords, logit_poly, *_ = _chords(verts, starts, out[:, :, None])
    areas = _areas(verts, starts)
    patterns = np.concatenate(blocks, axis=1)
    keep = areas > TOLERANCE * TOLERANCE  # a piece of zero area within tolerance is no region
    segments, segment_neuron, segment_snap = (np.concatenate(column) for column in zip(*found))
    return _per_snapshot(verts, starts, snap, keep, patterns, out, areas, segments, segment_neuron, segment_snap,
                         logit_chords, snap[logit_poly], weights, tuple(sizes), activation, (x0, y0, x1, y1))


def _layer_lines(aug: np.ndarray, snap: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[R, 3, n_out]: per polygon, each neuron's pre-activation as coefficients of (x, y, 1); one
    matrix product per snapshot (its polygons are contiguous)."""
    r, _, n_in = aug.shape
    coef = np.empty((r, 3, w.shape[1]))
    bounds = np.searchsorted(snap, np.arange(len(w) + 1))
    for s in np.flatnonzero(np.diff(bounds)):
        lo, hi = bounds[s], bounds[s + 1]
        np.matmul(aug[lo:hi].reshape(-1, n_in), w[s].T, out=coef[lo:hi].reshape(-1, w.shape[1]))
        coef[lo:hi, 2] += b[s]
    return coef


def _ragged(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner polygon of each vertex, index of the next vertex around its polygon)."""
    counts = np.diff(starts)
    owner = np.repeat(np.arange(len(counts)), counts)
    following = np.arange(1, starts[-1] + 1)
    following[starts[1:] - 1] = starts[:-1]
    return owner, following


@dataclass
class _Sides:
    """Where every polygon's vertices lie against the polygon's own line."""

    owner: np.ndarray  # [V] polygon of each vertex
    following: np.ndarray  # [V] next vertex around the polygon
    distance: np.ndarray  # [V] signed distance to the line (the value where the line has no gradient)
    side: np.ndarray  # int8 [V]: +1 / -1 beyond TOLERANCE on the active / other side, 0 on the line
    cut: np.ndarray  # [R] vertices beyond the tolerance on both sides
    whole_active: np.ndarray  # [R] for an uncut polygon, whether it is on the active side


def _sides(verts: np.ndarray, starts: np.ndarray, lines: np.ndarray) -> _Sides:
    owner, following = _ragged(starts)
    own = lines[owner]
    value = verts[:, 0] * own[:, 0] + verts[:, 1] * own[:, 1] + own[:, 2]
    norm = np.hypot(lines[:, 0], lines[:, 1])
    distance = value / np.where(norm > 0, norm, 1.0)[owner]  # no gradient: the neuron is constant
    side = (distance > TOLERANCE).astype(np.int8) - (distance < -TOLERANCE).astype(np.int8)
    first = starts[:-1]
    highest, lowest = np.maximum.reduceat(side, first), np.minimum.reduceat(side, first)
    # An uncut polygon is on the side of its vertices beyond the tolerance; all on the line: its mean.
    whole_active = (highest > 0) | ((lowest == 0) & (np.add.reduceat(value, first) > 0))
    return _Sides(owner, following, distance, side, (highest > 0) & (lowest < 0), whole_active)


def _crossings(verts: np.ndarray, sides: _Sides, edge: np.ndarray) -> np.ndarray:
    """Where the edges `edge` (from a vertex to the next, strictly across the line) meet the line."""
    there = sides.following[edge]
    t = sides.distance[edge] / (sides.distance[edge] - sides.distance[there])
    return verts[edge] + t[:, None] * (verts[there] - verts[edge])


def _split(verts: np.ndarray, starts: np.ndarray, lines: np.ndarray):
    """Split every polygon by its own line [R, 3]. Returns the pieces (vertices, starts), each piece's
    parent polygon and whether it lies on the line's active side. A vertex on the line goes into both
    pieces; pieces follow their parents' order, the active one first."""
    sides = _sides(verts, starts, lines)
    owner, first = sides.owner, starts[:-1]
    side = np.where(sides.cut[owner], sides.side, np.int8(1))  # an uncut polygon is one whole piece
    crossing = side * side[sides.following] < 0
    keep_pos, keep_neg = side >= 0, side <= 0
    emit_pos = keep_pos.astype(np.int64) + crossing
    emit_neg = keep_neg.astype(np.int64) + crossing
    sizes = np.stack([np.add.reduceat(emit_pos, first), np.add.reduceat(emit_neg, first)], axis=1).ravel()
    piece_starts = np.concatenate([[0], np.cumsum(sizes)])
    at_pos = np.cumsum(emit_pos) - emit_pos  # each vertex's first slot in its piece
    at_neg = np.cumsum(emit_neg) - emit_neg
    at_pos += piece_starts[0:-1:2][owner] - at_pos[first][owner]
    at_neg += piece_starts[1::2][owner] - at_neg[first][owner]
    out = np.empty((piece_starts[-1], 2))
    out[at_pos[keep_pos]] = verts[keep_pos]
    out[at_neg[keep_neg]] = verts[keep_neg]
    edge = np.flatnonzero(crossing)
    crossing_point = _crossings(verts, sides, edge)
    out[at_pos[edge] + keep_pos[edge]] = crossing_point
    out[at_neg[edge] + keep_neg[edge]] = crossing_point
    pieces = np.flatnonzero(sizes)
    parent = pieces >> 1
    active = np.where(sides.cut[parent], (pieces & 1) == 0, sides.whole_active[parent])
    return out, np.concatenate([[0], np.cumsum(sizes[pieces])]), parent, active


def _chords(verts: np.ndarray, starts: np.ndarray, coef: np.ndarray):
    """Where each of m lines per polygon (coef [R, 3, m]) cuts its polygon: segments [S, 4] with their
    polygon and line; and per (polygon, line), whether it is cut and, if not, whether the polygon is
    on the active side. In chunks of polygons, to bound the [polygon, line] arrays."""
    r, m = len(starts) - 1, coef.shape[2]
    per_chunk = max(1, CHORD_ENTRIES // max(m, 1))
    parts = [_chunk_chords(verts, starts, coef, lo, min(lo + per_chunk, r)) for lo in range(0, r, per_chunk)]
    return tuple(np.concatenate(column) for column in zip(*parts))


def _chunk_chords(verts: np.ndarray, starts: np.ndarray, coef: np.ndarray, lo: int, hi: int):
    """_chords() of polygons lo..hi. A line that misses a polygon's box (along its principal axes)
    misses the polygon; only the (polygon, line) pairs left are looked at vertex by vertex."""
    coef, counts = coef[lo:hi], np.diff(starts[lo:hi + 1])
    here, first = verts[starts[lo]:starts[hi]], starts[lo:hi] - starts[lo]
    owner = np.repeat(np.arange(hi - lo), counts)
    centre = np.add.reduceat(here, first) / counts[:, None]
    rel = here - centre[owner]
    spread = np.add.reduceat(rel[:, :, None] * rel[:, None, :], first)
    angle = 0.5 * np.arctan2(2 * spread[:, 0, 1], spread[:, 0, 0] - spread[:, 1, 1])
    axis_u, axis_w = np.stack([np.cos(angle), np.sin(angle)], 1), np.stack([-np.sin(angle), np.cos(angle)], 1)
    half_u = np.maximum.reduceat(np.abs((rel * axis_u[owner]).sum(axis=1)), first)[:, None]
    half_w = np.maximum.reduceat(np.abs((rel * axis_w[owner]).sum(axis=1)), first)[:, None]
    gx, gy = coef[:, 0], coef[:, 1]
    norm = np.hypot(gx, gy)
    at_centre = centre[:, 0, None] * gx + centre[:, 1, None] * gy + coef[:, 2]
    whole_active = at_centre > 0  # without a gradient the neuron is constant: the sign of its value
    reach = np.abs(gx * axis_u[:, 0, None] + gy * axis_u[:, 1, None]) * half_u \
        + np.abs(gx * axis_w[:, 0, None] + gy * axis_w[:, 1, None]) * half_w
    margin = (2 * TOLERANCE + 1e-9 * (half_u + half_w)) * norm  # rounding, and what counts as on the line
    polygon, line = np.nonzero((np.abs(at_centre) <= reach + margin) & (norm > 0))
    pair_counts = counts[polygon]  # each pair: a copy of its polygon's vertices, with its line
    pair_starts = np.concatenate([[0], np.cumsum(pair_counts)])
    pair_verts = verts[ragged_indices(starts[lo + polygon], pair_counts)]
    pair_lines = coef[polygon, :, line]
    sides = _sides(pair_verts, pair_starts, pair_lines)
    whole_active[polygon, line] = sides.whole_active
    crossed = np.zeros(whole_active.shape, bool)
    crossed[polygon, line] = sides.cut
    # A chord runs between the polygon's extreme points on the line: vertices on it, crossing edges.
    side = sides.side
    on_line = np.flatnonzero((side == 0) & sides.cut[sides.owner])
    edge = np.flatnonzero((side * side[sides.following] < 0) & sides.cut[sides.owner])
    points = np.concatenate([pair_verts[on_line], _crossings(pair_verts, sides, edge)])
    pair = sides.owner[np.concatenate([on_line, edge])]
    along = points[:, 0] * -pair_lines[pair, 1] + points[:, 1] * pair_lines[pair, 0]
    order = np.lexsort((along, pair))
    pair, points = pair[order], points[order]
    first_of = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    last_of = np.r_[first_of[1:], len(pair)] - 1
    first_of, last_of = first_of[last_of > first_of], last_of[last_of > first_of]
    segments = np.concatenate([points[first_of], points[last_of]], axis=1)
    return segments, polygon[pair[first_of]] + lo, line[pair[first_of]], crossed, whole_active


def ragged_indices(begin: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenated ranges begin[i] .. begin[i] + count[i]."""
    ends = np.cumsum(count)
    return np.repeat(begin - (ends - count), count) + np.arange(ends[-1] if len(ends) else 0)


class _Pool:
    """One layer's refinement: the polygons cut by a neuron are retired and their pieces appended, so
    a neuron costs what the polygons it crosses hold, not all of them. Buffers grow by doubling."""

    def __init__(self, verts: np.ndarray, starts: np.ndarray, neurons: int):
        count = np.diff(starts)
        self.verts = np.empty((2 * len(verts) + 64, 2))
        self.verts[:len(verts)] = verts
        self.used, self.size = len(verts), len(count)
        self.begin, self.count = starts[:-1].copy(), count.copy()
        self.origin = np.arange(len(count))  # each polygon's polygon at the layer's start
        self.alive = np.ones(len(count), bool)
        self.bits = np.zeros((len(count), neurons), bool)  # the layer's activity bits so far

    def split(self, j: int, lines: np.ndarray, crossed: np.ndarray, whole_active: np.ndarray) -> None:
        """Neuron j, whose line (lines [R0, 3]) crosses the layer-start polygons `crossed`."""
        n = self.size
        self.bits[:n, j] = whole_active[self.origin[:n]]
        chosen = np.flatnonzero(crossed[self.origin[:n]] & self.alive[:n])
        if not len(chosen):
            return
        counts = self.count[chosen]
        verts = self.verts[ragged_indices(self.begin[chosen], counts)]
        pieces, piece_starts, parent, active = _split(verts, np.concatenate([[0], np.cumsum(counts)]),
                                                      lines[self.origin[chosen]])
        self._reserve(len(parent), len(pieces))
        new = slice(n, n + len(parent))
        self.verts[self.used:self.used + len(pieces)] = pieces
        self.begin[new] = self.used + piece_starts[:-1]
        self.count[new] = np.diff(piece_starts)
        self.origin[new] = self.origin[chosen][parent]
        self.alive[chosen], self.alive[new] = False, True
        self.bits[new] = self.bits[chosen][parent]
        self.bits[new, j] = active
        self.used, self.size = self.used + len(pieces), n + len(parent)

    def _reserve(self, polygons: int, vertices: int) -> None:
        needs = {"verts": self.used + vertices, **dict.fromkeys(("begin", "count", "origin", "alive", "bits"),
                                                                self.size + polygons)}
        for name, needed in needs.items():
            if needed > len(array := getattr(self, name)):
                grown = np.empty((max(needed, 2 * len(array)), *array.shape[1:]), dtype=array.dtype)
                grown[:len(array)] = array
                setattr(self, name, grown)

    def compacted(self, snap: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(vertices, starts, origin, bits) of the live polygons, in snapshot order (stably)."""
        live = np.flatnonzero(self.alive[:self.size])
        live = live[np.argsort(snap[self.origin[live]], kind="stable")]
        counts = self.count[live]
        verts = self.verts[ragged_indices(self.begin[live], counts)]
        return verts, np.concatenate([[0], np.cumsum(counts)]), self.origin[live], self.bits[live]


def _areas(verts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Shoelace areas (positive counter-clockwise with y up), about each polygon's first vertex."""
    owner, following = _ragged(starts)
    rel = verts - verts[starts[:-1]][owner]
    nxt = rel[following]
    return 0.5 * np.add.reduceat(rel[:, 0] * nxt[:, 1] - nxt[:, 0] * rel[:, 1], starts[:-1])


def _per_snapshot(verts, starts, snap, keep, patterns, out, areas, segments, segment_neuron, segment_snap,
                  logit_chords, logit_snap, weights, sizes, activation, rect) -> list[Partition]:
    """The flat arrays of all snapshots cut into one Partition each, dropping the regions not kept.
    Polygons (and the output's chords) are in snapshot order; neuron segments are sorted into it stably."""
    counts = np.diff(starts)[keep]
    verts = verts[np.repeat(keep, np.diff(starts))]
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    snap, patterns, out, areas = snap[keep], patterns[keep], out[keep], areas[keep]
    by_snap = np.argsort(segment_snap, kind="stable")  # each layer's segments are in snapshot order
    segments, segment_neuron = segments[by_snap], segment_neuron[by_snap].astype(np.int32)
    ends = np.arange(len(weights) + 1)
    polygon_at, logit_at = np.searchsorted(snap, ends), np.searchsorted(logit_snap, ends)
    segment_at = np.searchsorted(segment_snap[by_snap], ends)
    result = []
    for s in range(len(weights)):
        lo, hi = polygon_at[s], polygon_at[s + 1]
        seg, logit = slice(segment_at[s], segment_at[s + 1]), slice(logit_at[s], logit_at[s + 1])
        result.append(Partition(
            vertices=verts[starts[lo]:starts[hi]], starts=starts[lo:hi + 1] - starts[lo],
            patterns=patterns[lo:hi], slopes=out[lo:hi, :2], intercepts=out[lo:hi, 2], areas=areas[lo:hi],
            neuron_segments=segments[seg], segment_neurons=segment_neuron[seg], output_segments=logit_chords[logit],
            flat=weights[s], sizes=sizes, activation=activation, rect=rect))
    return result
