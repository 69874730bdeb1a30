"""The exact geometry the helper records (regions, boundary density, neuron status) against
independent computations: exact rationals, sampled lengths; its batches, its TARGET message, older
pixel-centre files, `info`, and the regions view."""

import io
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from ginn_gl.core.errors import RunFileError
from ginn_gl.core.exact import EXACT, PIXEL_CENTRES, measure, near_edges
from ginn_gl.core.network import evaluate, grid_points
from ginn_gl.core.runfile import load_run, save_run
from ginn_gl.core.sources import load_target
from ginn_gl.core.view import ViewSettings
from ginn_gl.train.geometry_helper import HELPER_MODULE, Batcher, Wire
from tests.conftest import train_rings
from tests.test_partition import brute_force_lengths, compare_with_exact, trained

NETWORKS = [([2, 16, 16, 16, 1], "relu"), ([2, 9, 5, 1], "leaky_relu"), ([2, 40, 30, 1], "relu")]


@pytest.fixture(scope="module")
def held_out_run(tmp_path_factory):
    return load_run(train_rings(tmp_path_factory.mktemp("held-out"), 3000, 5))


def test_five_snapshots_of_a_held_out_run_count_their_regions_exactly(held_out_run):
    run = held_out_run
    assert run.meta["geometry"] == EXACT and (run.regions > 0).all() and (run.status >= 0).all()
    near = near_edges(run.target)
    height, width = run.target.shape
    for i in np.linspace(0, len(run) - 1, 5).astype(int):
        ours, exact = compare_with_exact(run.weights[i], run.layers, run.activation)  # slivers < 1e-9 aside
        slivers = [pattern for pattern, (area, *_) in exact.items() if area < 1e-9]
        assert ours.count == run.regions[i]
        assert abs(run.regions[i] - len(exact)) <= len(slivers), (i, run.regions[i], len(exact), len(slivers))
        # Density: lengths sampled along each segment, cell by cell, near the edges and elsewhere.
        brute = brute_force_lengths(ours, height, width, samples=1000)
        want = (brute[near].sum() / near.sum(), brute[~near].sum() / (~near).sum())
        np.testing.assert_allclose(run.density[i], want, rtol=2e-3)
        # Status from the exact regions' patterns (of any area beyond a sliver's).
        patterns = np.array([pattern for pattern, (area, *_) in exact.items() if area >= 1e-9])
        status = np.where(~patterns.any(0), 0, np.where(patterns.all(0), 1, 2))
        np.testing.assert_array_equal(run.status[i], status)
    assert run.regions[-1] > 2 * run.regions[0] > 0, "a trained network has more regions"


def test_the_exact_count_is_not_the_pixel_centres_count(held_out_run):
    """What changed: a pixel-centre count misses the regions no pixel centre falls in."""
    run = held_out_run
    height, width = run.target.shape
    signs = np.concatenate(evaluate(run.weights[-1], run.layers, run.activation, grid_points(height, width)).hidden,
                           axis=1) > 0
    assert len(np.unique(signs, axis=0)) < run.regions[-1]


def replies(wire: Wire, data: bytes) -> list[tuple[int, float, np.ndarray, np.ndarray, np.ndarray]]:
    size = wire.reply_bytes
    assert len(data) % size == 0
    return [wire.unpack_reply(data[i:i + size]) for i in range(0, len(data), size)]


def test_the_helper_batches_what_is_waiting_and_answers_each_snapshot():
    sizes, activation = NETWORKS[0]
    target = load_target("bottle", 40).pixels
    snapshots = [np.stack([trained(sizes, activation, steps=steps, seed=seed) for seed in (0, 1)])
                 for steps in (100, 200, 300, 400, 500, 600)]
    wire = Wire(sizes, activation, 2, target.shape)
    out = io.BytesIO()
    batcher = Batcher(wire, target, out)
    batcher.add(0, snapshots[0], more_waiting=True)  # no cost measured yet: one alone
    assert not batcher.pending and batcher.per_snapshot is not None and batcher.budget > 5
    for step, weights in enumerate(snapshots[1:], start=1):
        batcher.add(step, weights, more_waiting=step < 5)  # the rest waiting at once: one batch
    answers = replies(wire, out.getvalue())
    assert [a[0] for a in answers] == list(range(6))
    assert len({a[1] for a in answers[1:]}) == 1, "one batch: one measuring time"
    near = near_edges(target)
    for (_, _, regions, density, status), weights in zip(answers, snapshots):
        alone = measure(weights, sizes, activation, near)
        np.testing.assert_array_equal(regions, alone[0])
        np.testing.assert_array_equal(density, alone[1])
        np.testing.assert_array_equal(status, alone[2])


def test_a_new_target_changes_the_density_from_the_next_snapshot_on():
    """The TARGET message (target painting sends it): the helper process measures near the new edges."""
    sizes, activation = NETWORKS[1]
    first, second = load_target("bottle", 32).pixels, load_target("rings", 32).pixels
    weights = trained(sizes, activation)[None]
    wire = Wire(sizes, activation, 1, first.shape)
    stream = (wire.header(first) + wire.snapshot(10, weights) + wire.target(second) + wire.snapshot(11, weights)
              + wire.end())
    result = subprocess.run([sys.executable, "-m", HELPER_MODULE], input=stream, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ready, before, after = replies(wire, result.stdout)
    assert ready[0] == Wire.READY and (before[0], after[0]) == (10, 11)
    np.testing.assert_array_equal(before[3], measure(weights, sizes, activation, near_edges(first))[1])
    np.testing.assert_array_equal(after[3], measure(weights, sizes, activation, near_edges(second))[1])
    assert not np.array_equal(before[3], after[3]) and before[2] == after[2]


def test_a_wide_picture_is_measured_over_its_own_rectangle():
    """A 40 x 20 target covers [0, 1] x [0, 0.5] of the input plane: its regions, density and status are
    those of that rectangle (the plane beyond it is not the picture)."""
    from ginn_gl.core.partition import partition

    sizes, activation = NETWORKS[1]
    weights = trained(sizes, activation)
    wide = np.zeros((20, 40), np.uint8)
    wide[:, 20:] = 1
    regions, density, status = measure(weights[None], sizes, activation, near_edges(wide))
    half, whole = (partition(weights, sizes, activation, rect) for rect in ((0, 0, 1, 0.5), (0, 0, 1, 1)))
    assert regions[0] == half.count < whole.count
    np.testing.assert_array_equal(status[0], half.status())
    lengths = brute_force_lengths(half, 20, 40)  # pixels of 1/40 input units on both axes
    near = near_edges(wide)
    np.testing.assert_allclose(density[0], [lengths[near].sum() / near.sum(), lengths[~near].sum() / (~near).sum()],
                               rtol=2e-3)


@pytest.mark.parametrize("sizes,activation", NETWORKS, ids=str)
def test_the_regions_view_has_a_colour_per_activation_pattern(gl_context, sizes, activation):
    from ginn_gl.render.renderer import NetworkRenderer, render_image

    flat = trained(sizes, activation)
    renderer = NetworkRenderer(gl_context, sizes, activation, "fragment")
    renderer.set_weights(flat)
    renderer.set_target(load_target("rings", 40).pixels)
    for domain, (width, height) in (((0.0, 0.0, 1.0, 1.0), (120, 90)), ((0.2, 0.1, 0.7, 0.45), (100, 70))):
        view = ViewSettings(sizes, background="regions", shown=np.zeros(sum(sizes[1:-1]), bool), domain=domain,
                            output_boundary=False)
        image = render_image(gl_context, renderer, (width, height), view, channels=3)
        colours = len(np.unique(image.reshape(-1, 3), axis=0))
        points = grid_points(height, width, domain)
        signs = np.concatenate(evaluate(flat, sizes, activation, points).hidden, axis=1) > 0
        patterns = len(np.unique(signs, axis=0))
        assert patterns > 10 and abs(colours - patterns) <= max(1, 0.01 * patterns), (colours, patterns)
    renderer.release()


def test_info_reports_the_geometry_and_each_neurons_life(cli, held_out_run):
    run = held_out_run
    summary = json.loads(cli("info", run.path, "--json").stdout)
    neurons = summary["neurons"]
    assert [(n["layer"], n["index"]) for n in neurons] == [(layer, i) for layer in (1, 2, 3) for i in range(16)]
    names = ("dead", "always on", "switching")
    assert [n["status"] for n in neurons] == [names[s] for s in run.status[-1]]
    for neuron in neurons:
        for step, state in neuron["changes"]:
            assert step in run.steps and state in names
    assert any(n["changes"] for n in neurons), "some neuron changed status during training"
    geometry, exact = summary["geometry"], summary["exact"]
    assert geometry["regions"] == run.regions[-1] == exact["regions"] > 0 and geometry["kind"] == EXACT
    assert exact["step"] == run.steps[-1] and sum(exact["neurons"].values()) == 48
    assert exact["neurons"]["switching"] == int((run.status[-1] == 2).sum())
    np.testing.assert_allclose([exact["density_near_edges"], exact["density_elsewhere"]], run.density[-1], rtol=1e-6)
    assert exact["boundary_px"] > 0 and exact["output_boundary_px"] > 0 and exact["smallest_region_px2"] > 0
    text = cli("info", run.path).stdout
    assert "linear regions in the picture (exact)" in text and "px per px^2" in text and "measured now" not in text


def test_an_older_pixel_centre_file_loads_and_says_so(cli, held_out_run, tmp_path):
    run = replace(held_out_run, meta={key: value for key, value in held_out_run.meta.items() if key != "geometry"})
    old = save_run(tmp_path / "old.npz", run)
    assert "geometry" not in load_run(old).meta
    summary = json.loads(cli("info", old, "--json").stdout)
    assert summary["geometry"]["kind"] == PIXEL_CENTRES and summary["exact"]["regions"] == run.regions[-1]
    text = cli("info", old).stdout
    assert "among the pixel centres" in text and "measured now" in text
    with pytest.raises(RunFileError, match="geometry"):
        save_run(tmp_path / "bad.npz", replace(run, meta=dict(run.meta, geometry="guessed")))
