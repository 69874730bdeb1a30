"""Lines as geometry (render/lines.py, core/strokes.py) against the per-pixel shader's lines at full
resolution, within anti-aliasing; and the window on a CPU rasteriser, whose reduced picture while
something changes carries them."""

import numpy as np
import pytest

from ginn_gl.core.partition import partition
from ginn_gl.core.partitioner import Partitioner, ShownPartition, view_rect
from ginn_gl.core.sources import load_target
from ginn_gl.core.strokes import strokes
from ginn_gl.core.view import ViewSettings
from tests.test_app import SIZE, park_pointer, press, settle
from tests.test_partition import trained

NETWORKS = [([2, 16, 16, 16, 1], "relu"), ([2, 9, 5, 1], "leaky_relu")]
VIEWS = {
    "all lines": {},
    "thick, one highlighted": {"line_width": 2.5, "highlighted": 20},
    "thin": {"line_width": 0.6},
    "zoomed out, error view": {"domain": (-0.5, -0.25, 1.25, 1.5), "background": "error"},
    "zoomed in, regions": {"domain": (0.3, 0.2, 0.6, 0.5), "background": "regions"},
    "solo, target view": {"background": "target", "solo": "busiest"},
}


def line_pixels(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    return np.abs(image - background).max(axis=-1) > 40


def composed(ctx, renderer, view, flat, side):
    """(the shader's full-resolution picture, its background alone, that background with the line layer)."""
    from ginn_gl.render.lines import LineLayer
    from ginn_gl.render.renderer import Blit, OffscreenTarget, render_image

    shader = render_image(ctx, renderer, (side, side), view, channels=3).astype(int)
    background = render_image(ctx, renderer, (side, side), view, channels=3, lines=False)
    part = ShownPartition().get(0, flat, view.sizes, renderer.activation, view.domain)
    layer, blit = LineLayer(ctx), Blit(ctx)
    layer.set_strokes(strokes(part, view), view.domain, (side, side))
    texture = ctx.texture((side, side), 3, data=np.ascontiguousarray(background[::-1]).tobytes())
    target = OffscreenTarget(ctx, side, side)
    with target:
        ctx.viewport = (0, 0, side, side)
        blit.draw(texture, (0, 0))
        layer.draw((0, 0, side, side))
    drawn = target.read()[..., :3].astype(int)
    for resource in (layer, blit, texture, target):
        resource.release()
    return shader, background.astype(int), drawn


@pytest.mark.parametrize("sizes,activation", NETWORKS, ids=str)
@pytest.mark.parametrize("name", VIEWS)
def test_line_geometry_draws_the_shaders_lines(gl_context, sizes, activation, name):
    from ginn_gl.render.renderer import NetworkRenderer

    flat = trained(sizes, activation)
    renderer = NetworkRenderer(gl_context, sizes, activation, "fragment")
    renderer.set_weights(flat)
    renderer.set_target(load_target("rings", 40).pixels)
    options = dict(VIEWS[name])
    if options.get("highlighted", 0) >= sum(sizes[1:-1]):
        options.pop("highlighted")
    if options.get("solo") == "busiest":  # the neuron with the most segments in the view
        neurons = partition(flat, sizes, activation).segment_neurons
        options["solo"] = int(np.bincount(neurons).argmax())
    view = ViewSettings(sizes, **options)
    shader, background, drawn = composed(gl_context, renderer, view, flat, 360)
    renderer.release()
    want, got = line_pixels(shader, background), line_pixels(drawn, background)
    assert want.sum() > 300, "there are lines to compare"
    overlap = (want & got).sum() / (want | got).sum()
    differ = np.abs(drawn - shader).max(axis=-1)
    # Within anti-aliasing: the line pixels nearly all agree; only joints (a polyline's segments overlap
    # in their soft edges) and lines closer than a pixel to another differ by more than a few levels.
    assert overlap > 0.85 and (differ <= 2).mean() > 0.95 and (differ <= 48).mean() > 0.99, \
        (overlap, (differ <= 2).mean(), (differ <= 48).mean())


def test_the_shown_partition_is_computed_again_only_when_needed():
    sizes = [2, 9, 5, 1]
    flat = trained(sizes, "relu")
    shown = ShownPartition()
    first = shown.get("a", flat, sizes, "relu", (0.0, 0.0, 1.0, 1.0))
    assert shown.get("a", flat, sizes, "relu", (0.25, 0.25, 0.5, 0.5)) is first, "zoomed inside the picture"
    assert shown.get("b", flat, sizes, "relu", (0.25, 0.25, 0.5, 0.5)) is not first, "another snapshot"
    wider = shown.get("b", flat, sizes, "relu", (-1.0, 0.0, 1.0, 1.0))
    assert wider.rect == view_rect((-1.0, 0.0, 1.0, 1.0)) == (-1.0, 0.0, 1.0, 1.0) and wider.count > first.count


FIELDS = ("vertices", "starts", "patterns", "slopes", "intercepts", "areas", "neuron_segments", "segment_neurons",
          "output_segments", "flat")


def test_the_worker_process_answers_each_view_with_its_own_partition():
    """Two views share one worker (a grid's cells): each gets its own snapshot's partition, equal to one
    computed here, even when one view's request displaces the other's; a dead worker is done without."""
    sizes = [2, 16, 16, 16, 1]
    flats = [trained(sizes, "relu", steps=steps) for steps in (200, 600)]
    worker = Partitioner()
    try:
        views = [ShownPartition(worker), ShownPartition(worker)]
        views[0].ask("a", flats[0], sizes, "relu", (0.0, 0.0, 1.0, 1.0))
        views[1].ask("b", flats[1], sizes, "relu", (-0.5, 0.0, 1.0, 1.0))  # drops the first view's answer
        got = [views[0].get("a", flats[0], sizes, "relu", (0.0, 0.0, 1.0, 1.0)),
               views[1].get("b", flats[1], sizes, "relu", (-0.5, 0.0, 1.0, 1.0))]
        for part, flat, rect in zip(got, flats, ((0.0, 0.0, 1.0, 1.0), (-0.5, 0.0, 1.0, 1.0))):
            here = partition(flat, sizes, "relu", rect)
            assert part is not None and part.rect == rect and part.count == here.count > 20
            for name in FIELDS:
                np.testing.assert_array_equal(getattr(part, name), getattr(here, name), err_msg=name)
        assert views[0].seconds > 0 and not worker.failed
        assert views[0].get("a", flats[0], sizes, "relu", (0.2, 0.2, 0.4, 0.4), timeout=0.0) is got[0]
        worker.process.kill()
        worker.process.wait()
        late = views[0].get("c", flats[1], sizes, "relu", (0.0, 0.0, 1.0, 1.0), timeout=1.0)
        assert worker.failed and late is not None and late.count == partition(flats[1], sizes, "relu").count, \
            "computed here instead"
    finally:
        worker.close()


@pytest.fixture
def replay_window(display, tmp_path):
    from ginn_gl.core.runfile import load_run, save_run
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.app import App
    from ginn_gl.ui.session import replay_session
    from tests.test_app import CONFIG

    trainer = Trainer(CONFIG, load_target(CONFIG.image, CONFIG.resolution)).start()
    trainer.join(timeout=60)
    path = save_run(tmp_path / "lines.npz", trainer.finish().runs[0])
    app = park_pointer(App(replay_session([load_run(path)]), title="lines", size=SIZE))
    yield app, path
    app.close()


def test_the_reduced_picture_has_crisp_lines(replay_window, cli, tmp_path):
    """On a CPU rasteriser, the frame that shows a new snapshot at a reduced scale draws its lines at full
    resolution: they are where `render`'s full-resolution lines are."""
    from PIL import Image

    from ginn_gl.ui.window import glfw

    app, path = replay_window
    if not app.pane.progressive:
        pytest.skip("a GPU draws every change at full resolution")
    press(app, glfw.KEY_END)
    settle(app)
    press(app, glfw.KEY_LEFT)  # its first frame handles the key and draws the change reduced
    app.frame(capture=True)
    pane = app.pane
    assert pane.reduction > 1 and not pane.complete and pane.lines is not None and pane.lines.count > 0
    reduced = app.captured.astype(int)
    side = reduced.shape[0]
    step = app.snapshot.step
    outs = {}
    for name, extra in (("lines", []), ("bare", ["--neurons", "none", "--no-output-boundary"])):
        outs[name] = tmp_path / f"{name}.png"
        assert cli("render", path, "--out", outs[name], "--size", side, "--step", step, *extra).returncode == 0
    full, bare = (np.asarray(Image.open(outs[n]).convert("RGB")).astype(int) for n in ("lines", "bare"))
    want, got = line_pixels(full, bare), line_pixels(reduced, bare)
    assert want.mean() > 0.01
    overlap = (want & got).sum() / (want | got).sum()
    assert overlap > 0.8, overlap
