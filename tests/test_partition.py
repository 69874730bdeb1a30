"""The exact linear partition (ginn_gl.core.partition) against an independent exact-rational
implementation, a fine grid of network.evaluate, the shader's colour hash and brute-force lengths."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
import torch

from ginn_gl.core.exact import boundary_density, cell_lengths, densities, near_edges
from ginn_gl.core.lifecycle import NeuronStatus
from ginn_gl.core.network import LEAKY_SLOPE, evaluate, grid_points, parameter_count, split_parameters
from ginn_gl.core.partition import partition, partitions
from ginn_gl.core.sources import load_target
from ginn_gl.train.engine import EngineSpec, StepEngine
from ginn_gl.train.model import init_parameters

DEAD, ALWAYS_ON, SWITCHING = NeuronStatus.DEAD, NeuronStatus.ALWAYS_ON, NeuronStatus.SWITCHING

UNIT = (0.0, 0.0, 1.0, 1.0)
WIDE = (-2.0, -2.0, 3.0, 3.0)  # where the lines of freshly initialised networks lie


# ---------------------------------------------------------------------------------------------
# The slow reference: exact rationals, no tolerance. A polygon is its cyclic list of edge lines
# (a, b, c) meaning a x + b y + c = 0; vertex i is where edges i - 1 and i meet (Cramer's rule).


def meet(p, q):
    a1, b1, c1 = p
    a2, b2, c2 = q
    det = a1 * b2 - a2 * b1
    return (b1 * c2 - b2 * c1) / det, (a2 * c1 - a1 * c2) / det


def corners(edges):
    return [meet(edges[i - 1], edges[i]) for i in range(len(edges))]


def clip(edges, line):
    """[(active, edges)] of the pieces of a convex polygon on either side of `line`."""
    values = [line[0] * x + line[1] * y + line[2] for x, y in corners(edges)]
    if all(v <= 0 for v in values):
        return [(False, edges)]
    if all(v >= 0 for v in values):
        return [(True, edges)]
    n, pieces = len(edges), []
    for active in (True, False):
        inside = [(v > 0) if active else (v < 0) for v in values]
        # The vertices not strictly inside run from f to g; the line replaces the boundary between.
        f = next(i for i in range(n) if not inside[i] and inside[i - 1])
        g = next((f + k) % n for k in range(n) if inside[(f + k + 1) % n])
        pieces.append((active, [edges[(g + k) % n] for k in range((f - 1 - g) % n + 1)] + [line]))
    return pieces


def chord_length(edges, line):
    """The length of the line's chord through a convex polygon it crosses strictly, else 0."""
    pts = corners(edges)
    values = [line[0] * x + line[1] * y + line[2] for x, y in pts]
    if not (max(values) > 0 > min(values)):
        return 0.0
    n = len(edges)
    on = [pts[i] for i in range(n) if values[i] == 0]
    on += [meet(edges[i], line) for i in range(n) if values[i] * values[(i + 1) % n] < 0]
    (ax, ay), (bx, by) = on  # a line meets a convex polygon's boundary twice
    return float((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5


def exact_regions(flat, sizes, activation, rect=UNIT):
    """([(pattern tuple, area, logit slope (x, y), intercept)], all Fractions; each hidden neuron's
    zero set's length; the output boundary's length)."""
    layers = [([[Fraction(float(v)) for v in row] for row in w], [Fraction(float(v)) for v in b])
              for w, b in split_parameters(np.asarray(flat, dtype=np.float64), sizes)]
    leak = Fraction(0) if activation == "relu" else Fraction(LEAKY_SLOPE)
    x0, y0, x1, y1 = (Fraction(v) for v in rect)
    one, zero = Fraction(1), Fraction(0)
    edges = [(zero, one, -y0), (one, zero, -x1), (zero, one, -y1), (one, zero, -x0)]
    regions = [(edges, [(one, zero, zero), (zero, one, zero)], ())]  # affine maps of the layer's inputs
    lengths: list[float] = []
    for w, b in layers[:-1]:
        refined, layer_lengths = [], [0.0] * len(w)
        for edges, inputs, pattern in regions:
            lines = [tuple(sum(wj * a[d] for wj, a in zip(row, inputs)) + (bj if d == 2 else 0) for d in range(3))
                     for row, bj in zip(w, b)]
            pieces = [(edges, ())]
            for j, line in enumerate(lines):
                layer_lengths[j] += chord_length(edges, line)
                pieces = [(part, bits + (active,)) for part, bits in pieces for active, part in clip(part, line)]
            for part, bits in pieces:
                slopes = [one if on else leak for on in bits]
                refined.append((part, [tuple(s * v for v in line) for s, line in zip(slopes, lines)], pattern + bits))
        regions, lengths = refined, lengths + layer_lengths
    (w_out,), (b_out,) = layers[-1]
    result, output_length = [], 0.0
    for edges, inputs, pattern in regions:
        logit = [sum(wj * a[d] for wj, a in zip(w_out, inputs)) + (b_out if d == 2 else 0) for d in range(3)]
        output_length += chord_length(edges, logit)
        pts = corners(edges)
        area = sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(pts, pts[1:] + pts[:1])) / 2
        result.append((pattern, area, (logit[0], logit[1]), logit[2]))
    return result, lengths, output_length


def segment_lengths(segments):
    return np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])


def compare_with_exact(flat, sizes, activation, rect=UNIT):
    regions, lengths, output_length = exact_regions(flat, sizes, activation, rect)
    exact = {pattern: (area, slope, intercept) for pattern, area, slope, intercept in regions}
    ours = partition(flat, sizes, activation, rect)
    mine = {tuple(bool(v) for v in row): r for r, row in enumerate(ours.patterns)}
    assert len(mine) == ours.count, "one region per pattern"
    only_exact = {p: float(exact[p][0]) for p in exact if p not in mine}
    only_ours = {p: ours.areas[r] for p, r in mine.items() if p not in exact}
    # The tolerance (1e-12 in distance) may merge or invent slivers, never anything larger.
    assert all(a < 1e-9 for a in only_exact.values()), f"regions missed: {only_exact}"
    assert all(a < 1e-9 for a in only_ours.values()), f"regions that do not exist: {only_ours}"
    for p in exact.keys() & mine.keys():
        (area, (sx, sy), intercept), r = exact[p], mine[p]
        assert abs(float(area) - ours.areas[r]) < 1e-9, (p, float(area), ours.areas[r])
        scale = 1e-9 * max(1.0, abs(float(sx)), abs(float(sy)), abs(float(intercept)))
        np.testing.assert_allclose([*ours.slopes[r], ours.intercepts[r]], [float(sx), float(sy), float(intercept)],
                                   rtol=0, atol=scale)
    mine_lengths = np.bincount(ours.segment_neurons, segment_lengths(ours.neuron_segments), len(lengths))
    np.testing.assert_allclose(mine_lengths, lengths, rtol=0, atol=1e-9, err_msg="each neuron's zero set")
    assert abs(segment_lengths(ours.output_segments).sum() - output_length) < 1e-9, "the output boundary"
    return ours, exact


# ---------------------------------------------------------------------------------------------
# Networks


def random_net(sizes, seed, scale=1.0):
    return (init_parameters(sizes, torch.Generator().manual_seed(seed)).numpy() * np.float32(scale))


def trained(sizes, activation, image="rings", resolution=40, steps=600, seed=0):
    engine = StepEngine(EngineSpec(sizes, activation, [seed], 64, block=100), load_target(image, resolution).pixels)
    for first in range(0, steps, 100):
        engine.prepare_block(first, 100, np.full(100, 1e-2))
        engine.run_block(100)
    return engine.parameters()[0]


def hand_net(first_layer, second=None):
    """2-n-1 (or 2-n-m-1) with the given first-layer rows (wx, wy, b); readout weights all 1."""
    rows = np.array(first_layer, dtype=np.float32)
    n = len(rows)
    parts = [rows[:, :2].ravel(), rows[:, 2]]
    sizes = [2, n]
    if second is not None:
        second = np.array(second, dtype=np.float32)
        parts += [second[:, :-1].ravel(), second[:, -1]]
        sizes.append(len(second))
    parts += [np.ones(sizes[-1], np.float32), np.array([-0.5], np.float32)]
    flat = np.concatenate(parts).astype(np.float32)
    sizes.append(1)
    assert flat.size == parameter_count(sizes)
    return flat, sizes


DEGENERATE = {
    "two parallel lines": hand_net([(1, 0, -0.25), (2, 0, -1.5)]),
    "three lines through one point": hand_net([(1, 0, -0.5), (0, 1, -0.5), (1, 1, -1.0), (1, -1, 0.0)]),
    "a line through the rect's corner": hand_net([(1, 1, -1.0), (1, -1, 0.0), (1, 0, -0.375)]),
    "a line along the rect's edge": hand_net([(0, 1, 0.0), (-1, 0, 1.0), (1, 0, -0.5)]),
    "a dead neuron": hand_net([(1, 1, -5.0), (0, 1, -0.5), (1, 0, -0.5)]),
    "an always-on neuron": hand_net([(1, 1, 5.0), (0, 1, -0.5)]),
    "a duplicate neuron": hand_net([(1, 2, -1.0), (1, 2, -1.0), (2, 4, -2.0), (1, 0, -0.5)]),
    "a zero neuron": hand_net([(0, 0, 0.0), (1, 0, -0.5)]),
    "a second layer along the first": hand_net([(1, 0, -0.5), (0, 1, -0.25)],
                                               [(1, 0, 0.0), (1, 1, -0.125), (0, 0, 1.0), (-1, 0, 0.25)]),
    "a sliver 1e-10 wide": hand_net([(0, 1, -0.5), (2 ** -33, 1, -0.5), (1, 0, -0.5)]),
    "lines 3e-8 apart": hand_net([(1, 0, -0.25), (1 + 2 ** -23, 0, -0.25), (0, 1, -0.5)]),
    "a vertex on a second-layer line": hand_net([(1, 0, -0.5), (0, 1, -0.5)], [(1, 1, -0.25), (-1, 1, 0.0)]),
    # Through (17/41, 22/41), which no float holds: only the tolerance keeps rounding from cutting slivers.
    "three lines through a point off the float grid": hand_net([(3, 7, -5), (5, -2, -1), (8, 5, -6), (2, -9, 4)]),
    "a second-layer line through that point": hand_net([(3, 7, -5), (5, -2, -1)], [(1, -1, 0), (-1, 1, 0.25)]),
}


@pytest.mark.parametrize("sizes,activation,seed,rect", [
    ([2, 5, 4, 1], "relu", 1, UNIT), ([2, 5, 4, 1], "relu", 1, WIDE), ([2, 6, 6, 1], "leaky_relu", 2, WIDE),
    ([2, 4, 4, 4, 1], "relu", 3, WIDE), ([2, 8, 1], "leaky_relu", 4, WIDE), ([2, 7, 7, 1], "relu", 5, WIDE)], ids=str)
def test_small_networks_match_the_exact_rational_partition(sizes, activation, seed, rect):
    for scale in (1.0, 4.0):
        ours, exact = compare_with_exact(random_net(sizes, seed, scale), sizes, activation, rect)
        assert ours.count == len(exact) > 6
        assert_clean_polygons(ours)


@pytest.mark.parametrize("name", DEGENERATE)
def test_degenerate_weights_match_the_exact_rational_partition(name):
    flat, sizes = DEGENERATE[name]
    for activation in ("relu", "leaky_relu"):
        ours, exact = compare_with_exact(flat, sizes, activation)
        assert ours.count == len(exact), name
        assert_clean_polygons(ours)
    if name.startswith("a sliver"):
        assert ours.areas.min() < 1e-9  # the sliver is a region of its own


def test_degenerate_counts_and_a_zoomed_rect():
    assert partition(*DEGENERATE["three lines through one point"], "relu").count == 8
    assert partition(*DEGENERATE["two parallel lines"], "relu").count == 3
    assert partition(*DEGENERATE["a duplicate neuron"], "relu").count == 4
    flat, sizes = DEGENERATE["three lines through one point"]
    compare_with_exact(flat, sizes, "relu", rect=(0.25, 0.375, 0.5, 0.5))  # the point is its corner
    compare_with_exact(random_net([2, 6, 5, 1], 9), [2, 6, 5, 1], "relu", rect=(-1.0, -0.5, 2.0, 3.0))


def test_trained_default_network_matches_the_exact_rational_partition():
    sizes = [2, 16, 16, 16, 1]
    for steps, activation in ((300, "relu"), (600, "leaky_relu")):
        flat = trained(sizes, activation, steps=steps)
        started = time.perf_counter()
        ours, exact = compare_with_exact(flat, sizes, activation)
        assert time.perf_counter() - started < 60
        assert len(exact) > 100


# ---------------------------------------------------------------------------------------------
# Against the network itself


def grid_patterns(flat, sizes, activation, points, chunk=1 << 17):
    return np.concatenate([np.concatenate(evaluate(flat, sizes, activation, points[i:i + chunk]).hidden, axis=1) > 0
                           for i in range(0, len(points), chunk)])


def inside_own_polygon(part, points, regions, slack=1e-9):
    """Whether each point lies in its region's polygon (within `slack` of its edges)."""
    counts = np.diff(part.starts)[regions]
    ends = np.cumsum(counts)
    index = np.repeat(part.starts[regions] - (ends - counts), counts) + np.arange(ends[-1])  # their vertices
    following = index + 1
    following[ends - 1] = part.starts[regions]
    p, q = part.vertices[index], part.vertices[following]
    point = np.repeat(points, counts, axis=0)
    cross = (q[:, 0] - p[:, 0]) * (point[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (point[:, 0] - p[:, 0])
    distance = cross / np.hypot(*(q - p).T)  # positive: left of the edge, i.e. inside (counter-clockwise)
    return np.minimum.reduceat(distance, np.r_[0, np.cumsum(counts)[:-1]]) >= -slack


@pytest.mark.parametrize("sizes,activation", [([2, 16, 16, 16, 1], "relu"), ([2, 9, 5, 1], "leaky_relu")], ids=str)
def test_a_fine_grid_agrees_with_the_partition(sizes, activation):
    flat = trained(sizes, activation)
    part = partition(flat, sizes, activation)
    points = grid_points(1200, 1200)
    ids = part.locate(points)
    assert (ids >= 0).all()
    np.testing.assert_array_equal(part.patterns[ids], grid_patterns(flat, sizes, activation, points))
    assert inside_own_polygon(part, points, ids).all(), "each grid point lies in its pattern's polygon"
    cell = 1.0 / 1200
    seen = np.bincount(ids, minlength=part.count) > 0
    big = part.areas > 4 * cell * cell
    following = np.arange(1, len(part.vertices) + 1)
    following[part.starts[1:] - 1] = part.starts[:-1]
    perimeter = np.add.reduceat(np.hypot(*(part.vertices[following] - part.vertices).T), part.starts[:-1])
    # A region of 4 cells or more that no grid point falls in must be a sliver under a cell wide.
    assert (seen | ~big | (2 * part.areas / perimeter < cell)).all()
    assert seen[big].mean() > 0.95
    assert (part.locate(np.array([[-0.1, 0.5], [0.5, 1.2], [0.0, 0.0], [1.0, 1.0]])) >= 0).tolist() == [
        False, False, True, True]


def assert_clean_polygons(part):
    """Convex, counter-clockwise with y up, at least 3 vertices, none repeated, none on the line
    through its neighbours (all beyond the tolerance)."""
    n = len(part.vertices)
    assert (np.diff(part.starts) >= 3).all() and part.starts[0] == 0 and part.starts[-1] == n
    following, previous = np.arange(1, n + 1), np.arange(-1, n - 1)
    following[part.starts[1:] - 1], previous[part.starts[:-1]] = part.starts[:-1], part.starts[1:] - 1
    before, here, after = part.vertices[previous], part.vertices, part.vertices[following]
    turn = (here - before)[:, 0] * (after - here)[:, 1] - (here - before)[:, 1] * (after - here)[:, 0]
    assert (turn > 0).all(), "convex, counter-clockwise"
    assert (np.hypot(*(after - here).T) > 1e-12).all(), "no repeated vertices"
    assert (turn / np.hypot(*(after - before).T) > 1e-12).all(), "no vertex on the line through its neighbours"
    shoelace = np.add.reduceat(here[:, 0] * after[:, 1] - after[:, 0] * here[:, 1], part.starts[:-1]) / 2
    np.testing.assert_allclose(shoelace, part.areas, rtol=1e-6, atol=1e-15)


@pytest.mark.parametrize("sizes,activation", [([2, 16, 16, 16, 1], "relu"), ([2, 10, 10, 1], "leaky_relu")], ids=str)
def test_the_affine_pieces_the_areas_and_the_boundaries(sizes, activation):
    flat = trained(sizes, activation)
    part = partition(flat, sizes, activation)
    counts = np.diff(part.starts)
    owner = np.repeat(np.arange(part.count), counts)
    centroids = np.add.reduceat(part.vertices, part.starts[:-1]) / counts[:, None]
    ev = evaluate(flat, sizes, activation, centroids, gradients=True)
    np.testing.assert_array_equal(grid_patterns(flat, sizes, activation, centroids), part.patterns)
    np.testing.assert_allclose(part.slopes, ev.logit_grad, rtol=0, atol=1e-9 * max(1, np.abs(ev.logit_grad).max()))
    np.testing.assert_allclose((part.slopes * centroids).sum(1) + part.intercepts,
                               ev.logits, rtol=0, atol=1e-9 * max(1, np.abs(ev.logits).max()))
    assert abs(part.areas.sum() - 1.0) < 1e-9 and (part.areas > 0).all()
    assert_clean_polygons(part)
    assert owner.max() == part.count - 1
    # Status: from the patterns at the centroids (each region's own), and each neuron's actual sign.
    signs = grid_patterns(flat, sizes, activation, centroids)
    want = np.where(~signs.any(0), DEAD, np.where(signs.all(0), ALWAYS_ON, SWITCHING))
    np.testing.assert_array_equal(part.status(), want)
    assert set(part.status().tolist()) >= {SWITCHING}
    # Segments lie on their neuron's zero set: ends and middles, in the regions on both sides.
    seg = part.neuron_segments
    assert len(seg) > 0 and set(np.unique(part.segment_neurons)) == set(np.flatnonzero(part.status() == SWITCHING))
    rows = np.arange(len(seg))
    middle = evaluate(flat, sizes, activation, 0.5 * (seg[:, :2] + seg[:, 2:]), gradients=True)
    slope = np.hypot(*np.concatenate(middle.hidden_grad, axis=1)[rows, part.segment_neurons].T)  # its region's
    for where in (seg[:, :2], seg[:, 2:], 0.5 * (seg[:, :2] + seg[:, 2:])):
        z = np.concatenate(evaluate(flat, sizes, activation, where).hidden, axis=1)[rows, part.segment_neurons]
        assert (np.abs(z) / slope < 1e-9).all()
    out = part.output_segments
    assert len(out) > 0
    slope = np.hypot(*evaluate(flat, sizes, activation, 0.5 * (out[:, :2] + out[:, 2:]), gradients=True).logit_grad.T)
    for where in (out[:, :2], out[:, 2:], 0.5 * (out[:, :2] + out[:, 2:])):
        assert (np.abs(evaluate(flat, sizes, activation, where).logits) / slope < 1e-9).all()


# ---------------------------------------------------------------------------------------------
# Colours, lengths, batches


def shader_colour(active_neurons):
    """shaders/network.glsl's regions-view colour of a pattern, in plain Python integers."""
    def mix32(x):
        x ^= x >> 16
        x = (x * 0x7FEB352D) & 0xFFFFFFFF
        x ^= x >> 15
        x = (x * 0x846CA68B) & 0xFFFFFFFF
        return x ^ (x >> 16)

    pattern = 0
    for index in active_neurons:
        pattern ^= mix32((index * 0x9E3779B9 + 0x632BE5AB) & 0xFFFFFFFF)
    c = mix32(pattern ^ 0x5BD1E995)
    return [48 + ((c >> shift) & 255) * 200 // 256 for shift in (0, 8, 16)]


def test_colours_are_the_shaders():
    sizes = [2, 16, 16, 16, 1]
    part = partition(trained(sizes, "relu"), sizes, "relu")
    want = [shader_colour(np.flatnonzero(row).tolist()) for row in part.patterns]
    assert part.colours().dtype == np.uint8
    np.testing.assert_array_equal(part.colours(), np.array(want))
    assert len({tuple(c) for c in want}) > 0.95 * part.count


def test_the_regions_view_draws_these_colours(gl_context):
    from ginn_gl.core.view import ViewSettings
    from ginn_gl.render.renderer import NetworkRenderer, render_image

    sizes = [2, 16, 16, 16, 1]
    flat = trained(sizes, "relu")
    part = partition(flat, sizes, "relu")
    renderer = NetworkRenderer(gl_context, sizes, "relu", "fragment")
    renderer.set_weights(flat)
    renderer.set_target(load_target("rings", 40).pixels)
    width, height = 160, 120
    view = ViewSettings(sizes, background="regions", shown=np.zeros(sum(sizes[1:-1]), bool), output_boundary=False)
    image = render_image(gl_context, renderer, (width, height), view, channels=3)
    renderer.release()
    want = part.colours()[part.locate(grid_points(height, width))].reshape(height, width, 3)
    assert (image == want).all(axis=-1).mean() > 0.99  # the shader works in float32: a few pixels on edges


def brute_force_lengths(part, height, width, samples=4000):
    """Each segment cut into `samples` equal pieces, each counted whole in its midpoint's cell."""
    x0, y0, x1, y1 = part.rect
    lengths = np.zeros((height, width))
    t = (np.arange(samples) + 0.5) / samples
    for seg in part.neuron_segments:
        a = np.array([(seg[0] - x0) / (x1 - x0) * width, (seg[1] - y0) / (y1 - y0) * height])
        b = np.array([(seg[2] - x0) / (x1 - x0) * width, (seg[3] - y0) / (y1 - y0) * height])
        points = a + t[:, None] * (b - a)
        rows = np.clip(np.floor(points[:, 1]).astype(int), 0, height - 1)
        cols = np.clip(np.floor(points[:, 0]).astype(int), 0, width - 1)
        np.add.at(lengths, (rows, cols), np.hypot(*(b - a)) / samples)
    return lengths


def test_boundary_density_against_brute_force_and_by_hand():
    sizes = [2, 9, 5, 1]
    target = load_target("bottle", 48).pixels
    part = partition(trained(sizes, "leaky_relu"), sizes, "leaky_relu")
    exact, brute = cell_lengths(part, 48, 48), brute_force_lengths(part, 48, 48)
    total = sum(np.hypot((s[2] - s[0]) * 48, (s[3] - s[1]) * 48) for s in part.neuron_segments)
    assert abs(exact.sum() - total) < 1e-9 * total and abs(brute.sum() - total) < 1e-9 * total
    assert np.abs(exact - brute).max() < 0.1  # a sample straddles each border a segment crosses: 1/4000 of it
    near = near_edges(target)
    got = boundary_density(part, near)
    want = (brute[near].sum() / near.sum(), brute[~near].sum() / (~near).sum())
    np.testing.assert_allclose(got, want, rtol=1e-3)
    assert got[0] > 0 and got[1] > 0
    # One horizontal line across an H x W target: W pixels long.
    flat, line_sizes = hand_net([(0, 1, -0.35)])
    line = partition(flat, line_sizes, "relu")
    assert line.neuron_segments.shape == (1, 4)
    height, width = 10, 20
    assert boundary_density(line, np.zeros((height, width), bool)) == pytest.approx((0.0, width / (height * width)))
    row = np.zeros((height, width), bool)
    row[3] = True  # y = 0.35 is in row 3
    assert boundary_density(line, row) == pytest.approx((1.0, 0.0))
    row[3], row[4] = False, True
    assert boundary_density(line, row) == pytest.approx((0.0, width / ((height - 1) * width)))
    # The same line over a rect twice as wide and tall: a quarter of the view, half the pixels' width.
    wide = partition(flat, line_sizes, "relu", rect=(0.0, 0.0, 2.0, 2.0))
    assert cell_lengths(wide, height, width).sum() == pytest.approx(width)


def test_near_edges_is_its_definition():
    assert near_edges(np.eye(9, dtype=np.uint8), radius=1).sum() == 9 + 2 * 8
    # Cell by cell: within the radius (Euclidean, centre to centre) of a cell of another value.
    for radius, (height, width) in ((3, (12, 15)), (2, (17, 11))):
        target = (np.random.default_rng(radius).random((height, width)) < 0.1).astype(np.uint8)
        want = np.array([[any(target[r, c] != target[i, j] for i in range(height) for j in range(width)
                              if (i - r) ** 2 + (j - c) ** 2 <= radius ** 2) for c in range(width)]
                         for r in range(height)])
        np.testing.assert_array_equal(near_edges(target, radius=radius), want)
        assert 0 < want.sum() < want.size


def test_densities_of_a_batch_are_each_partitions_own():
    sizes = [2, 16, 16, 16, 1]
    near = near_edges(load_target("bottle", 40).pixels)
    parts = partitions(np.stack([trained(sizes, "relu", steps=steps) for steps in (100, 400, 700)]), sizes, "relu")
    batched = densities(parts, near)
    np.testing.assert_allclose(batched, [boundary_density(part, near) for part in parts], rtol=1e-12)
    assert (batched > 0).all() and len({tuple(row) for row in batched}) == 3


def test_a_batch_equals_one_snapshot_at_a_time(monkeypatch):
    import ginn_gl.core.partition as module

    sizes, rect = [2, 16, 16, 16, 1], (-0.5, 0.0, 1.5, 1.25)
    snapshots = [init_parameters(sizes, torch.Generator().manual_seed(7)).numpy()]
    snapshots += [trained(sizes, "relu", steps=steps, seed=seed) for steps, seed in ((200, 0), (500, 1), (700, 2))]
    weights = np.stack(snapshots + snapshots[1:2])
    batch = partitions(weights, sizes, "relu", rect)
    monkeypatch.setattr(module, "PASS_BUDGET", 2 * 48 ** 2)  # two snapshots a pass, as a wide net goes
    in_pairs = partitions(weights, sizes, "relu", rect)
    assert len(batch) == len(in_pairs) == 5
    for flat, together, paired in zip(weights, batch, in_pairs):
        alone = partition(flat, sizes, "relu", rect)
        assert together.count == alone.count > 20
        for field in ("vertices", "starts", "patterns", "slopes", "intercepts", "areas", "neuron_segments",
                      "segment_neurons", "output_segments"):
            np.testing.assert_array_equal(getattr(together, field), getattr(alone, field), err_msg=field)
            np.testing.assert_array_equal(getattr(paired, field), getattr(alone, field), err_msg=field)
    assert batch[1].count != batch[2].count
