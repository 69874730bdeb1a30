"""Linear regions, boundary density and neuron status: the torch probe, the trainer's records and
the regions view, each against an independent float64 numpy computation."""

import json

import numpy as np
import pytest
import torch

from ginn_gl.core.network import evaluate, grid_points
from ginn_gl.core.sources import load_target
from ginn_gl.core.view import ViewSettings
from ginn_gl.train.engine import EngineSpec, StepEngine
from ginn_gl.train.geometry import GeometryProbe
from ginn_gl.train.model import init_parameters

NETWORKS = [([2, 16, 16, 16, 1], "relu"), ([2, 9, 5, 1], "leaky_relu"), ([2, 40, 30, 1], "relu"),
            ([2, 3, 12, 7, 1], "leaky_relu")]  # the third needs two 52-neuron words


def trained(sizes, activation, image="rings", resolution=40, steps=600, seed=0):
    engine = StepEngine(EngineSpec(sizes, activation, [seed], 64, block=100), load_target(image, resolution).pixels)
    for first in range(0, steps, 100):
        engine.prepare_block(first, 100, np.full(100, 1e-2))
        engine.run_block(100)
    return engine.parameters()[0]


def reference(flat, sizes, activation, target):
    """Patterns, region count, densities near the target's edges and elsewhere, and statuses: float64,
    bool arrays and explicit neighbour comparisons."""
    height, width = target.shape
    signs = np.concatenate(evaluate(flat, sizes, activation, grid_points(height, width)).hidden, axis=1) > 0
    grid = signs.reshape(height, width, -1)

    def near(values):  # pixels whose value differs from some pixel within 2 px (Euclidean)
        out = np.zeros(values.shape, bool)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                if 0 < dy * dy + dx * dx <= 4:
                    a = values[max(0, -dy):height - max(0, dy), max(0, -dx):width - max(0, dx)]
                    b = values[max(0, dy):height + min(0, dy), max(0, dx):width + min(0, dx)]
                    out[max(0, -dy):height - max(0, dy), max(0, -dx):width - max(0, dx)] |= a != b
        return out

    counts = near(grid).sum(axis=-1)
    edge = near(target[..., None].astype(bool))[..., 0]
    status = np.full(signs.shape[1], 2)
    status[~signs.any(axis=0)] = 0
    status[signs.all(axis=0)] = 1
    return len(np.unique(signs, axis=0)), (counts[edge].mean(), counts[~edge].mean()), status


@pytest.mark.parametrize("sizes,activation", NETWORKS, ids=str)
def test_the_probe_matches_numpy(sizes, activation):
    target = load_target("bottle", 48).pixels
    probe = GeometryProbe(target, sizes, activation, torch.device("cpu"))
    for flat in (init_parameters(sizes, torch.Generator().manual_seed(3)).numpy(), trained(sizes, activation)):
        regions, density, status = probe.measure(flat[None])
        want_regions, want_density, want_status = reference(flat, sizes, activation, target)
        assert want_regions > 5
        assert abs(regions[0] - want_regions) <= 0.01 * want_regions
        np.testing.assert_allclose(density[0], want_density, rtol=0.01, atol=1e-3)
        assert (status[0] == want_status).mean() > 0.97


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_probe_on_cuda_matches_numpy():
    target = load_target("bottle", 48).pixels
    sizes, activation = NETWORKS[2]  # two words
    probe = GeometryProbe(target, sizes, activation, torch.device("cuda"))
    flats = np.stack([init_parameters(sizes, torch.Generator().manual_seed(s)).numpy() for s in (3, 4)])
    regions, density, status = probe.measure(flats)
    for s, flat in enumerate(flats):
        want_regions, want_density, want_status = reference(flat, sizes, activation, target)
        assert abs(regions[s] - want_regions) <= 0.01 * want_regions
        np.testing.assert_allclose(density[s], want_density, rtol=0.01, atol=1e-3)
        assert (status[s] == want_status).mean() > 0.97


def test_the_trainer_records_the_geometry_of_every_snapshot():
    from ginn_gl.core.config import TrainConfig
    from ginn_gl.train.trainer import Trainer

    config = TrainConfig(image="rings", resolution=40, steps=800, lr=1e-2, seeds=(1, 4), activation="leaky_relu",
                         device="cpu")
    trainer = Trainer(config, load_target("rings", 40)).start()
    trainer.join(timeout=60)
    runs = trainer.finish().runs  # waits for the helper process's last measurements
    target = load_target("rings", 40).pixels
    for run in runs:
        assert (run.regions > 0).all() and np.isfinite(run.density).all() and (run.status >= 0).all()
        for i in (0, len(run) // 2, len(run) - 1):
            regions, density, status = reference(run.weights[i], config.sizes, config.activation, target)
            assert abs(run.regions[i] - regions) <= 0.01 * regions
            np.testing.assert_allclose(run.density[i], density, rtol=0.01, atol=1e-3)
            assert (run.status[i] == status).mean() > 0.97


@pytest.mark.parametrize("sizes,activation", NETWORKS[:3], ids=str)
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


def test_info_reports_the_geometry_and_each_neurons_life(cli, tmp_path):
    out = tmp_path / "life.npz"
    assert cli("train", "--image", "circle", "--resolution", "32", "--steps", "1500", "--lr", "1e-2",
               "--out", out).returncode == 0
    from ginn_gl.core.runfile import load_run

    run = load_run(out)
    summary = json.loads(cli("info", out, "--json").stdout)
    neurons = summary["neurons"]
    assert [(n["layer"], n["index"]) for n in neurons] == [(layer, i) for layer in (1, 2, 3) for i in range(16)]
    _, _, status = reference(run.weights[-1], run.layers, run.activation, run.target)
    names = ("dead", "always on", "switching")
    assert [n["status"] for n in neurons] == [names[s] for s in run.status[-1]]
    assert (run.status[-1] == status).mean() > 0.97
    for neuron in neurons:
        for step, state in neuron["changes"]:
            assert step in run.steps and state in names
    assert any(n["changes"] for n in neurons), "some neuron changed status during training"
    assert summary["geometry"]["regions"] == run.regions[-1] > 0
    text = cli("info", out).stdout
    assert "linear regions" in text and "boundaries within 2 px" in text
