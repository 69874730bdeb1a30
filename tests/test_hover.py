"""Hovering the view shows the exact region under the pointer: its pattern, area and logit (against the
network evaluated at that point), its outline drawn over the view; and clipped areas by hand."""

import numpy as np
import pytest

from ginn_gl.core.exact import clipped_area
from ginn_gl.core.network import evaluate
from ginn_gl.core.partition import partition
from tests.test_app import SIZE, park_pointer, settle


def test_clipped_area_by_hand():
    square = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    assert clipped_area(square) == pytest.approx(0.25)
    assert clipped_area(square + 0.5) == pytest.approx(1.0)
    assert clipped_area(square + 2.0) == 0.0
    triangle = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    assert clipped_area(triangle) == pytest.approx(1.0)  # x + y <= 2 covers all of [0,1]^2
    assert clipped_area(triangle * 0.5, (0.0, 0.0, 0.5, 1.0)) == pytest.approx(0.5 - 0.125)


@pytest.fixture
def window(display, tmp_path):
    from ginn_gl.core.runfile import load_run, save_run
    from ginn_gl.core.sources import load_target
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.app import App
    from ginn_gl.ui.session import replay_session
    from tests.test_app import CONFIG

    trainer = Trainer(CONFIG, load_target(CONFIG.image, CONFIG.resolution)).start()
    trainer.join(timeout=60)
    run = load_run(save_run(tmp_path / "hover.npz", trainer.finish().runs[0]))
    app = park_pointer(App(replay_session([run]), title="hover", size=SIZE))
    yield app, run
    app.close()


def hover_at(app, x, y, frames=40):
    from imgui_bundle import imgui

    imgui.get_io().add_mouse_pos_event(x, y)
    for _ in range(frames):  # the worker's answer comes a frame or two later
        app.frame(capture=True)
        if app.hover.facts is not None:
            return app.hover.facts
    return None


def test_hovering_shows_the_exact_region_under_the_pointer(window):
    app, run = window
    settle(app)
    plain = app.captured.astype(int)
    x, y, side, _ = app.view_rect
    height = app.window.size.height
    for fx, fy in ((0.3, 0.4), (0.62, 0.71)):
        pointer = (x + fx * side, height - (y + side) + fy * side)  # window units (no HiDPI under Xvfb)
        facts = hover_at(app, *pointer)
        assert facts is not None
        point = np.array([[fx, fy]])  # the default view shows [0,1]^2
        flat = run.weights[-1]
        part = partition(flat, run.layers, run.activation)
        assert facts.index == part.locate(point)[0] and facts.count == part.count == run.regions[-1]
        signs = np.concatenate(evaluate(flat, run.layers, run.activation, point).hidden, axis=1)[0] > 0
        bits = "".join(pattern.replace(" ", "") for pattern, _, _ in facts.layers)
        assert bits == "".join("1" if s else "0" for s in signs)
        assert [on for _, on, _ in facts.layers] == [int(signs[i:i + 16].sum()) for i in (0, 16, 32)]
        gradient = evaluate(flat, run.layers, run.activation, point, gradients=True).logit_grad[0]
        np.testing.assert_allclose(facts.slope, gradient, rtol=1e-5, atol=1e-6)
        assert facts.share == pytest.approx(part.areas[facts.index], rel=1e-9)  # inside [0,1]^2 already
        assert facts.pixels == pytest.approx(facts.share * 64 * 64)
        # The outline: drawn over the view where the polygon's edges are.
        drawn = app.captured.astype(int)
        outline = app.hover.outline
        changed = np.abs(drawn - plain).max(axis=-1) > 60
        edge_middles = (outline + np.roll(outline, -1, axis=0)) / 2
        rows = np.clip((edge_middles[:, 1] - (height - (y + side))).astype(int), 0, side - 1)
        columns = np.clip((edge_middles[:, 0] - x).astype(int), 0, side - 1)
        near = [changed[max(r - 2, 0):r + 3, max(c - 2, 0):c + 3].any() for r, c in zip(rows, columns)]
        assert np.mean(near) > 0.8, near
    panel = (app.window.size.width - 100, height / 2)
    assert hover_at(app, *panel, frames=3) is None, "nothing over the panel"
