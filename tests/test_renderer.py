"""The per-pixel network shader against numpy float64, on a real OpenGL context (EGL)."""

import functools
import re

import numpy as np
import pytest
import torch

from ginn_gl.core.network import evaluate, grid_points, layer_slices
from ginn_gl.core.selection import hidden_count, neuron_index
from ginn_gl.core.sources import load_target
from ginn_gl.core.view import ViewSettings
from ginn_gl.render.context import ShaderError, load_program
from ginn_gl.render.renderer import NetworkRenderer, OffscreenTarget, render_image
from ginn_gl.train.engine import EngineSpec, StepEngine
from ginn_gl.train.model import init_parameters
from tests.conftest import IN_CI

ARCHITECTURES = [([16, 16, 16], "relu"), ([9, 5], "leaky_relu"), ([64] * 8, "relu"),
                 ([3, 12, 7, 1], "leaky_relu")]


def params_for(sizes, seed=0, scale=1.0):
    """PyTorch's initialisation for `sizes` (optionally scaled)."""
    return init_parameters(sizes, torch.Generator().manual_seed(seed)).numpy() * scale


@functools.cache
def trained(hidden, activation, steps=1500, image="rings"):
    """A briefly trained network: boundaries of every layer cross the picture."""
    sizes = [2, *hidden, 1]
    engine = StepEngine(EngineSpec(sizes, activation, [0], 128, block=250), load_target(image, 48).pixels)
    for first in range(0, steps, 250):
        engine.prepare_block(first, 250, np.full(250, 1e-2))
        engine.run_block(250)
    return engine.parameters()[0]


def busiest_neuron(flat, sizes, activation, layer, n):
    """The neuron of `layer` whose sign changes at the most pixels of an n x n view."""
    z = evaluate(flat, sizes, activation, grid_points(n, n)).hidden[layer - 1].reshape(n, n, -1) > 0
    changes = (z[:, 1:] != z[:, :-1]).sum(axis=(0, 1)) + (z[1:] != z[:-1]).sum(axis=(0, 1))
    return int(np.argmax(changes))


@pytest.fixture(params=["fragment", "compute"])
def shader_path(request, gl_context):
    """Every drawing test runs on both paths: llvmpipe offers OpenGL 4.5, so compute runs in CI too."""
    if request.param == "compute" and gl_context.version_code < 430:
        message = f"the compute path needs OpenGL 4.3; this context has {gl_context.version_code}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return request.param


def make_renderer(ctx, sizes, activation, flat, path="fragment"):
    renderer = NetworkRenderer(ctx, sizes, activation, path)
    assert renderer.path == path
    renderer.set_weights(flat)
    renderer.set_target(load_target("circle", 32).pixels)
    return renderer


def lines(sizes, shown=None, **settings):
    """ViewSettings drawing the `shown` neurons' lines (none by default), and no p = 0.5 line unless asked."""
    settings.setdefault("output_boundary", False)
    return ViewSettings(sizes, shown=np.zeros(hidden_count(sizes), bool) if shown is None else shown, **settings)


@pytest.mark.parametrize("hidden,activation", ARCHITECTURES)
def test_prediction_equals_numpy_float64(gl_context, shader_path, hidden, activation):
    sizes = [2, *hidden, 1]
    flat = trained(tuple(hidden), activation)
    renderer = make_renderer(gl_context, sizes, activation, flat, path=shader_path)
    size = (96, 80)
    expected = evaluate(flat, sizes, activation, grid_points(size[1], size[0])).probability
    expected = expected.reshape(size[1], size[0])
    assert 0.05 < expected.std(), "a test picture with structure"
    image = render_image(gl_context, renderer, size, lines(sizes), dtype="f4")
    assert np.abs(image[..., 0] - expected).max() <= 1e-4
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2])
    png = render_image(gl_context, renderer, size, lines(sizes))
    levels = np.abs(png[..., :3].astype(float) - 255 * expected[..., None])
    assert levels.max() <= 1.0, "the 8-bit path is within one grey level"
    assert np.mean(png[..., 0] == np.round(255 * expected)) > 0.999
    renderer.release()


def test_a_domain_beyond_the_unit_square_maps_pixels_to_its_points(gl_context, shader_path):
    sizes = [2, 16, 16, 16, 1]
    flat = trained((16, 16, 16), "relu")
    renderer = make_renderer(gl_context, sizes, "relu", flat, path=shader_path)
    domain = (-0.5, -0.25, 1.5, 1.25)  # wider than tall, reaching outside [0,1]^2; y downwards
    width, height = 120, 90
    points = grid_points(height, width, domain)
    expected = evaluate(flat, sizes, "relu", points).probability.reshape(height, width)
    image = render_image(gl_context, renderer, (width, height), lines(sizes, domain=domain), dtype="f4")[..., 0]
    inside = np.all((points >= 0) & (points < 1), axis=1).reshape(height, width)
    assert 0.2 < inside.mean() < 0.6
    assert np.abs(image - expected)[inside].max() <= 1e-4
    dimmed = expected + 0.55 * (0.09 - expected)  # mixed towards the shader's OUTSIDE colour (red 0.09)
    assert np.abs(image - dimmed)[~inside].max() <= 1e-4, "outside the data domain: dimmed prediction"


def coverage_from_render(ctx, renderer, size, view, neuron):
    """Alpha of one neuron's line: unmix its colour from the same render without lines."""
    view.set_all(False)
    background = render_image(ctx, renderer, size, view, dtype="f4")[..., :3]
    view.toggle_neuron(neuron)
    lit = render_image(ctx, renderer, size, view, dtype="f4")[..., :3]
    colour = renderer.colours[neuron]
    delta = colour[None, None, :] - background
    channel = np.argmax(np.abs(delta), axis=2)[..., None]
    d = np.take_along_axis(delta, channel, 2)[..., 0]
    a = np.take_along_axis(lit - background, channel, 2)[..., 0]
    usable = np.abs(d) > 0.05  # where the line colour differs from the background enough to unmix
    return np.divide(a, d, out=np.full(a.shape, np.nan, dtype=np.float32), where=usable)


def pre_activation(flat, sizes, activation, points, layer, neuron, gradients=False):
    ev = evaluate(flat, sizes, activation, points, gradients=gradients)
    z = ev.hidden[layer - 1][:, neuron]
    return (z, ev.hidden_grad[layer - 1][:, neuron, :]) if gradients else z


@pytest.mark.parametrize("layer", [1, 2, 3])
def test_lines_follow_sign_changes(gl_context, shader_path, layer):
    sizes = [2, 16, 16, 16, 1]
    flat = trained((16, 16, 16), "relu")
    n = 160
    neuron = busiest_neuron(flat, sizes, "relu", layer, n)
    renderer = make_renderer(gl_context, sizes, "relu", flat, path=shader_path)
    # At the default width 1.5 a pixel is lit (coverage >= 0.5) within 0.75 px of the line; a pixel
    # with a 4-neighbour of the other sign lies within max(|nx|, |ny|) (0.707..1) px of it, and of
    # two such neighbours one is within 0.5 px: so lit pixels are sign-change pixels and every
    # sign change has a lit pixel, but for near-diagonal slivers and the polylines' kinks.
    options = lines(sizes, background="target", line_width=1.5)
    index = neuron_index(sizes, layer, neuron)
    alpha = coverage_from_render(gl_context, renderer, (n, n), options, index)
    z = pre_activation(flat, sizes, "relu", grid_points(n, n), layer, neuron).reshape(n, n)
    positive = z > 0
    right = positive[:, :-1] != positive[:, 1:]
    down = positive[:-1, :] != positive[1:, :]
    changes = np.zeros((n, n), bool)
    changes[:, :-1] |= right
    changes[:, 1:] |= right
    changes[:-1, :] |= down
    changes[1:, :] |= down
    lit = np.nan_to_num(alpha) >= 0.5
    inner = np.zeros((n, n), bool)
    inner[3:-3, 3:-3] = True
    assert changes[inner].sum() > 50, "the chosen neuron crosses the view"
    precision = (lit & changes & inner).sum() / (lit & inner).sum()  # lit pixels on a change
    pairs_right = right[3:-3, 3:-3]  # the pair (c, c + 1) for c = 3 .. n-5
    covered_right = (lit[3:-3, 3:-4] | lit[3:-3, 4:-3])[pairs_right]
    pairs_down = down[3:-3, 3:-3]
    covered_down = (lit[3:-4, 3:-3] | lit[4:-3, 3:-3])[pairs_down]
    recall = np.concatenate([covered_right, covered_down]).mean()  # changes with a lit pixel
    assert precision >= 0.97 and recall >= 0.97, (precision, recall)


def test_line_coverage_is_the_exact_distance(gl_context, shader_path):
    sizes = [2, 16, 16, 16, 1]
    flat = trained((16, 16, 16), "relu")
    n = 128
    renderer = make_renderer(gl_context, sizes, "relu", flat, path=shader_path)
    options = lines(sizes, background="target", line_width=2.0)
    for layer in (1, 2, 3):
        neuron = busiest_neuron(flat, sizes, "relu", layer, n)
        index = neuron_index(sizes, layer, neuron)
        alpha = coverage_from_render(gl_context, renderer, (n, n), options, index)
        z, grad = pre_activation(flat, sizes, "relu", grid_points(n, n), layer, neuron, gradients=True)
        slope = np.linalg.norm(grad / n, axis=1)  # per pixel; 0 where the neuron is flat (dead input)
        distance = np.divide(np.abs(z), slope, out=np.full_like(z, np.inf), where=slope > 0)
        expected = np.clip(1.0 - distance + 0.5, 0, 1).reshape(n, n)
        ok = ~np.isnan(alpha)
        error = np.abs(alpha - expected)[ok]
        assert np.quantile(error, 0.995) < 0.02 and error.mean() < 2e-3


def test_a_neuron_that_never_switches_draws_nothing(gl_context, shader_path):
    sizes = [2, 4, 4, 1]
    flat = params_for(sizes, seed=1)
    first, second = layer_slices(sizes)[:2]
    flat[first.bias.start + 2] = 50.0  # layer 1 neuron 2: always on in (and far around) the view
    flat[second.bias.start + 1] = -500.0  # layer 2 neuron 1: dead everywhere
    renderer = make_renderer(gl_context, sizes, "relu", flat, path=shader_path)
    none = render_image(gl_context, renderer, (64, 64), lines(sizes))
    for layer, neuron in ((1, 2), (2, 1)):
        shown = np.zeros(hidden_count(sizes), bool)
        shown[neuron_index(sizes, layer, neuron)] = True
        assert np.array_equal(render_image(gl_context, renderer, (64, 64), lines(sizes, shown)), none)
    assert not np.array_equal(render_image(gl_context, renderer, (64, 64), ViewSettings(sizes, output_boundary=False)),
                              none)


def test_line_width_is_constant_under_zoom(gl_context, shader_path):
    sizes = [2, 4, 1]
    flat = np.zeros(4 * 3 + 5, dtype=np.float32)
    w, b = layer_slices(sizes)[0].weight, layer_slices(sizes)[0].bias
    flat[w] = [0.6, 0.8] + [0.0] * 6  # neuron 0: 0.6 x + 0.8 y - 0.7 = 0, a straight line
    flat[b.start] = -0.7
    renderer = make_renderer(gl_context, sizes, "relu", flat, path=shader_path)
    widths = []
    for domain in ((0.0, 0.0, 1.0, 1.0), (0.375, 0.375, 0.625, 0.625)):  # 4x zoom about (0.5, 0.5)
        options = lines(sizes, background="target", line_width=1.5, domain=domain)
        alpha = coverage_from_render(gl_context, renderer, (200, 200), options, 0)
        lit = np.nan_to_num(alpha)
        # The line crosses the whole view; its length in pixels along the view.
        span = (domain[2] - domain[0])
        ys = (0.7 - 0.6 * np.array([domain[0], domain[2]])) / 0.8
        length = np.hypot(200.0, (ys[1] - ys[0]) / span * 200.0)
        widths.append(lit.sum() / length)
    assert widths[0] == pytest.approx(1.5, rel=0.03)
    assert widths[1] == pytest.approx(widths[0], rel=0.02)


def test_both_paths_draw_the_same_pixels_into_an_offset_viewport(gl_context):
    """The window draws its view into part of the framebuffer: the compute path's copy lands there too."""
    sizes = [2, 16, 16, 16, 1]
    flat = trained((16, 16, 16), "relu")
    shown = np.ones(hidden_count(sizes), bool)
    frames = []
    for path in ("fragment", "compute"):
        renderer = make_renderer(gl_context, sizes, "relu", flat, path=path)
        target = OffscreenTarget(gl_context, 100, 80, dtype="f4")
        with target:
            gl_context.clear(0.25, 0.5, 0.75, 1.0)
            renderer.draw((30, 10, 60, 50), lines(sizes, shown, output_boundary=True))
        frames.append(target.read())
        target.release()
        renderer.release()
    fragment, compute = frames
    inside = np.zeros((80, 100), bool)
    inside[80 - 60:80 - 10, 30:90] = True  # rows from the top: the viewport spans y 10..60 from the bottom
    assert np.all(fragment[~inside] == [0.25, 0.5, 0.75, 1.0]) and np.all(compute[~inside] == [0.25, 0.5, 0.75, 1.0])
    assert np.abs(fragment[inside] - compute[inside]).max() < 1e-5
    assert fragment[inside].std() > 0.1, "a picture with structure, lines included"


def test_target_view_reproduces_the_target(gl_context, shader_path):
    target = load_target("bottle", 200).pixels
    sizes = [2, 16, 16, 16, 1]
    renderer = make_renderer(gl_context, sizes, "relu", params_for(sizes), path=shader_path)
    renderer.set_target(target)
    image = render_image(gl_context, renderer, (200, 200), lines(sizes, background="target"))
    assert np.array_equal(image[..., 0], target * 255) and np.array_equal(image[..., 2], target * 255)


def test_error_view_marks_only_wrong_pixels(gl_context, shader_path):
    sizes = [2, 16, 16, 16, 1]
    flat = trained((16, 16, 16), "relu", steps=300, image="circle")
    renderer = make_renderer(gl_context, sizes, "relu", flat, path=shader_path)
    target = load_target("circle", 64).pixels
    renderer.set_target(target)
    image = render_image(gl_context, renderer, (64, 64), lines(sizes, background="error")).astype(int)
    p = evaluate(flat, sizes, "relu", grid_points(64, 64)).probability.reshape(64, 64)
    wrong = (p > 0.5) != (target > 0)
    grey = (image[..., 0] == image[..., 1]) & (image[..., 1] == image[..., 2])
    assert np.array_equal(~grey, wrong)


def test_weights_upload_once_per_snapshot(gl_context, shader_path):
    sizes = [2, 16, 16, 16, 1]
    renderer = make_renderer(gl_context, sizes, "relu", params_for(sizes), path=shader_path)
    before = renderer.uploads
    assert renderer.set_weights(params_for(sizes, seed=1), key=("run", 7))
    assert not renderer.set_weights(params_for(sizes, seed=1), key=("run", 7))
    assert renderer.uploads == before + 1


def test_every_uniform_must_be_set(gl_context, shader_path, monkeypatch):
    sizes = [2, 4, 1]
    renderer = make_renderer(gl_context, sizes, "relu", params_for(sizes), path=shader_path)
    original = renderer.uniforms

    def forgetful(viewport, view, pixel_scale=1.0, lines=True):
        values = original(viewport, view, pixel_scale, lines)
        values.pop("u_line_width")
        return values

    monkeypatch.setattr(renderer, "uniforms", forgetful)
    with pytest.raises(RuntimeError, match="u_line_width"):
        render_image(gl_context, renderer, (8, 8), lines(sizes))


def test_compile_errors_point_at_the_files_lines(gl_context, tmp_path):
    source = "\n".join([
        "// line 1",
        "#ifdef VERTEX_SHADER",
        "void main() { gl_Position = vec4(0.0); }",
        "#endif",
        "#ifdef FRAGMENT_SHADER",
        "out vec4 colour;",
        "void main() { colour = vec4(undefined_thing); }",  # line 7
        "#endif",
    ])
    (tmp_path / "broken.glsl").write_text(source)
    with pytest.raises(ShaderError) as info:
        load_program(gl_context, "broken.glsl", folder=tmp_path)
    message = str(info.value)
    assert message.startswith("broken.glsl") and "undefined_thing" in message
    # Mesa writes "0:7(22): error", NVIDIA "0(7) : error": either way line 7 of the file.
    assert re.search(r"\b0:7\(|\b0\(7\)|:7:", message), message


def test_a_large_frame_is_drawn_in_tiles_with_the_same_pixels(gl_context, shader_path, monkeypatch):
    import ginn_gl.render.renderer as renderer_module

    sizes = [2, 16, 16, 16, 1]
    flat = trained((16, 16, 16), "relu")
    renderer = make_renderer(gl_context, sizes, "relu", flat, path=shader_path)
    view = ViewSettings(sizes, output_boundary=True, domain=(-0.2, 0.1, 1.3, 0.9))
    whole = render_image(gl_context, renderer, (150, 70), view)
    monkeypatch.setattr(renderer_module, "TILE", 32)  # 5 x 3 tiles, the last ones partial
    tiled = render_image(gl_context, renderer, (150, 70), view)
    assert np.array_equal(tiled, whole) and whole.std() > 10
    rgb = render_image(gl_context, renderer, (150, 70), view, channels=3)
    assert np.array_equal(rgb, whole[..., :3])


def test_a_network_this_opengl_cannot_build_is_one_line_naming_it(gl_context):
    from ginn_gl.core.errors import UserError

    sizes = [2] + [64] * 80 + [1]  # 5,120 neurons' states: more than a 64 KB uniform block holds
    with pytest.raises(UserError, match="2-64x80-1 network") as info:
        NetworkRenderer(gl_context, sizes, "relu", "fragment")
    assert "\n" not in str(info.value)



@pytest.mark.parametrize("hidden,activation", ARCHITECTURES[:2])
def test_a_reduced_view_is_the_full_view_averaged(gl_context, shader_path, hidden, activation):
    """Drawn at 1/6 (the window's progressive view), the p = 0.5 line with its halo and the neurons'
    lines come out as the full-resolution picture averaged over 6x6 blocks: a line thinner than a
    reduced pixel is drawn a pixel wide at its share of the opacity, never wider or darker. (A halo
    whose 2 px were not scaled made the error 9x the lines' own ink.)"""
    sizes = [2, *hidden, 1]
    renderer = make_renderer(gl_context, sizes, activation, trained(tuple(hidden), activation, image="bottle"),
                             path=shader_path)

    def draw(side, **settings):
        return render_image(gl_context, renderer, (side, side), lines(sizes, **settings), dtype="f4",
                            pixel_scale=side / 240)[..., :3]

    def blocks(image):
        return image.reshape(40, 6, 40, 6, 3).mean(axis=(1, 3))

    full_bare, reduced_bare = blocks(draw(240)), draw(40)
    for settings in ({"output_boundary": True}, {"shown": np.ones(hidden_count(sizes), bool)}):
        full = blocks(draw(240, **settings))
        ink = np.abs(full - full_bare).mean()
        error = np.abs(draw(40, **settings) - full).mean() - np.abs(reduced_bare - full_bare).mean()
        assert ink > 0.002, "the lines cross the picture"
        assert error < 2.0 * ink, (settings, ink, error)
