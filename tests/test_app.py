"""The real window under Xvfb, driven through its own key handling; pixels read back from it."""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.network import evaluate, grid_points
from ginn_gl.core.pace import MIN_PACE
from ginn_gl.core.runfile import load_run
from ginn_gl.core.sources import load_target

CONFIG = TrainConfig(image="circle", resolution=64, steps=1500, lr=1e-2, seeds=(2,))
SIZE = (980, 900)  # the view is a square of 510 px beside the 470 px panel, which fits 900 px


@pytest.fixture
def live_app(display, tmp_path):
    from ginn_gl.cli.window import training_session
    from ginn_gl.ui.app import App

    session = training_session(CONFIG, load_target(CONFIG.image, CONFIG.resolution))
    app = park_pointer(App(session, title="test", saves_on_close=True, size=SIZE))
    session.trainer.start()
    session.trainer.join(timeout=60)  # let it finish: the history is then fixed
    yield app
    app.close()
    if app.session.trainer is not None:
        app.session.trainer.finish(None, wait=False)


def park_pointer(app):
    """The pointer where it hovers nothing: above the view, left of the panel (Xvfb starts it mid-screen,
    which may be over a neuron of the diagram: its line would be drawn thicker)."""
    from imgui_bundle import imgui

    from ginn_gl.ui.window import glfw

    glfw.set_cursor_pos(app.window.handle, 5.0, 5.0)  # X's pointer, so no later motion brings it back
    app.frame()  # takes the events queued when the window opened under the pointer
    imgui.get_io().add_mouse_pos_event(5.0, 5.0)  # GLFW reports no motion for a warp: tell ImGui
    app.frame()
    return app


def imgui_line_height():
    from imgui_bundle import imgui

    return imgui.get_text_line_height_with_spacing()


def press(app, key, shift=False):
    """A key as GLFW delivers it: through ImGui's GLFW backend, which chains to the window's callback."""
    from imgui_bundle import imgui

    from ginn_gl.ui.window import glfw  # imported after imgui_bundle, as the window needs

    window = ctypes.cast(app.window.handle, ctypes.c_void_p).value
    mods = glfw.MOD_SHIFT if shift else 0
    imgui.backends.glfw_key_callback(window, key, 0, glfw.PRESS, mods)
    app.frame()
    imgui.backends.glfw_key_callback(window, key, 0, glfw.RELEASE, mods)
    app.frame()


def click(app, x, y):
    from imgui_bundle import imgui

    io = imgui.get_io()
    io.add_mouse_pos_event(x, y)
    app.frame()
    io.add_mouse_button_event(0, True)
    app.frame()
    io.add_mouse_button_event(0, False)
    app.frame()


def settle(app):
    """Frames until the view shows the current settings at full resolution in every cell (a new
    snapshot may wait its turn), the last one read back."""
    deadline = time.perf_counter() + 30
    app.frame(capture=True)
    while not app.view_settled and time.perf_counter() < deadline:
        time.sleep(0.02)
        app.frame(capture=True)
    assert app.view_settled


def view(app):
    """The view's pixels once it shows the current settings."""
    settle(app)
    return app.captured.astype(int)


def prediction(weights, side):
    p = evaluate(weights, CONFIG.sizes, CONFIG.activation, grid_points(side, side)).probability
    return (255 * p).reshape(side, side)


def test_view_target_toggles_slider_and_close(live_app, tmp_path):
    from ginn_gl.ui.window import glfw

    app = live_app
    history = app.session.primary.history
    app.settings.view.output_boundary = False  # the checkbox: the p = 0.5 line off, to compare pixels
    press(app, glfw.KEY_N)  # no neuron lines
    pixels = view(app)
    side = pixels.shape[0]
    assert side == app.view_rect[2] > 400
    last = history.read()
    expected = prediction(last.weights, side)
    assert np.abs(pixels[..., 0] - expected).max() <= 1.0, "the view shows the newest prediction"
    assert np.array_equal(pixels[..., 0], pixels[..., 2])

    press(app, glfw.KEY_T)
    target = load_target(CONFIG.image, CONFIG.resolution).pixels
    rows = (np.arange(side) + 0.5) * CONFIG.resolution // side
    expected_target = target[rows.astype(int)][:, rows.astype(int)] * 255
    assert np.array_equal(view(app)[..., 0], expected_target), "T shows the target"
    press(app, glfw.KEY_T)
    assert np.abs(view(app)[..., 0] - expected).max() <= 1.0, "T again: the prediction"

    # Click the button of layer 1, neuron 4: its line appears, nothing else in the view changes.
    before = view(app)
    x0, y0, x1, y1 = app.panel.button_rects[4]
    click(app, (x0 + x1) / 2, (y0 + y1) / 2)
    click(app, 5.0, 5.0)  # away from the button (on the view's dark margin): no highlight
    assert app.settings.view.shown.tolist() == [False] * 4 + [True] + [False] * 43
    after = view(app)
    changed = np.any(after != before, axis=2)
    ev = evaluate(last.weights, CONFIG.sizes, CONFIG.activation, grid_points(side, side), gradients=True)
    z, grad = ev.hidden[0][:, 4], ev.hidden_grad[0][:, 4, :] / side
    distance = (np.abs(z) / np.linalg.norm(grad, axis=1)).reshape(side, side)  # pixels to the line
    assert changed.sum() > side, "the line is drawn"
    assert distance[changed].max() < 1.5, "pixels change along the line and nowhere else"
    assert changed[distance < 0.5].mean() > 0.99

    # Home: the first snapshot, the initial network; Right: the next one.
    press(app, glfw.KEY_N)
    press(app, glfw.KEY_HOME)
    assert app.snapshot.index == 0 and app.snapshot.step == 0
    first = history.read(-1)
    assert np.abs(view(app)[..., 0] - prediction(first.weights, side)).max() <= 1.0
    press(app, glfw.KEY_RIGHT)
    assert app.snapshot.index == 1 and not app.settings.follow_live
    second = history.read(-1, offset=1)
    assert app.snapshot.step == second.step
    assert np.abs(view(app)[..., 0] - prediction(second.weights, side)).max() <= 1.0
    press(app, glfw.KEY_END)
    assert app.settings.follow_live and app.snapshot.newest

    press(app, glfw.KEY_ESCAPE)
    assert app.settings.quit_requested
    app.close()
    run = app.session.trainer.finish().runs[0]
    assert run.steps[-1] == CONFIG.steps and np.array_equal(run.weights[-1], last.weights)
    assert not [t for t in threading.enumerate() if t.name == "ginn-gl-trainer"], "no worker left"


def test_keys_help_speed_layers_and_screenshot(live_app, tmp_path, monkeypatch):
    from ginn_gl.ui.window import glfw

    app = live_app
    monkeypatch.chdir(tmp_path)
    press(app, glfw.KEY_F1)
    assert app.settings.show_help
    app.frame()  # the overlay fits its rows at the width it is given: a line each, not a letter each
    _, _, help_width, help_height = app.help_rect
    assert help_width > 300 and help_height < 40 * imgui_line_height(), app.help_rect
    press(app, glfw.KEY_SLASH, shift=True)  # ?
    assert not app.settings.show_help
    speed = app.settings.speed
    press(app, glfw.KEY_EQUAL)
    press(app, glfw.KEY_KP_ADD)
    assert app.settings.speed == pytest.approx(speed * 2.25)
    press(app, glfw.KEY_MINUS)
    assert app.settings.speed == pytest.approx(speed * 1.5)
    press(app, glfw.KEY_2)
    shown = app.settings.view.shown
    assert not shown[16:32].any() and shown[:16].all()
    press(app, glfw.KEY_A)
    assert app.settings.view.shown.all()
    press(app, glfw.KEY_E)
    assert app.settings.view.background == "error"
    press(app, glfw.KEY_SPACE)
    assert app.settings.playing
    press(app, glfw.KEY_SPACE)
    assert not app.settings.playing
    press(app, glfw.KEY_S)  # the view alone, at full resolution, and a note in the window naming it
    from PIL import Image

    view_png = tmp_path / app.last_screenshot
    assert Image.open(view_png).size == (app.view_rect[2], app.view_rect[3])
    assert any(str(app.last_screenshot) in text for _, text in app.notices.shown)
    press(app, glfw.KEY_S, shift=True)  # the whole window, panel included
    assert Image.open(tmp_path / app.last_screenshot).size == (app.window.size.fb_width, app.window.size.fb_height)
    assert view_png.exists() and app.last_screenshot != view_png.relative_to(tmp_path), "never over the first"
    pace = app.settings.pace
    press(app, glfw.KEY_M)  # training has ended: M says why it does nothing
    assert app.settings.pace == pace and "nothing is training" in app.notices.shown[-1][1]
    press(app, glfw.KEY_P)  # so does P: a finished run's target is history
    press(app, glfw.KEY_P)
    assert not app.settings.painting and "none trains here" in app.notices.shown[-1][1]
    assert len(app.notices.shown) == len({text for _, text in app.notices.shown}), "a note said again shows once"
    app.settings.view.solo = 3
    press(app, glfw.KEY_A)
    assert app.settings.view.solo is None, "A leaves solo"


def test_keys_typed_into_a_field_go_to_the_field(live_app):
    from imgui_bundle import imgui

    from ginn_gl.ui.window import glfw

    app = live_app
    io = imgui.get_io()
    app.frame()  # lays out the panel: the field's place is known from here on
    x0, y0, x1, y1 = app.panel.seed_rect
    click(app, x0 + 10, (y0 + y1) / 2)
    assert io.want_text_input, "the seed field has the keyboard"
    for key in (glfw.KEY_T, glfw.KEY_1, glfw.KEY_Q, glfw.KEY_ESCAPE):
        press(app, key)
    view = app.settings.view
    assert view.background == "prediction" and view.shown.all() and not app.settings.quit_requested
    assert not io.want_text_input, "Esc left the field"
    press(app, glfw.KEY_T)
    assert app.settings.view.background == "target", "outside the field, keys work again"


def test_restart_asks_before_discarding_a_finished_run(live_app):
    from ginn_gl.ui.window import glfw

    app = live_app  # trained to the end by the fixture
    old = app.session.trainer
    press(app, glfw.KEY_R)
    assert app.confirm_restart and app.session.trainer is old, "R asks first"
    press(app, glfw.KEY_N)
    assert not app.confirm_restart and app.session.trainer is old, "N keeps the run"
    app.settings.pace = MIN_PACE  # the new run crawls, so it is still training when R is pressed below
    press(app, glfw.KEY_R)
    press(app, glfw.KEY_Y)
    new = app.session.trainer
    assert new is not old and not old.alive and new.config.seed == old.config.seed
    np.testing.assert_array_equal(new.histories[0].read(-1).weights, old.histories[0].read(-1).weights)
    press(app, glfw.KEY_R)  # while training runs, R restarts at once
    assert not app.confirm_restart and app.session.trainer is not new
    app.session.trainer.set_pace(None)
    app.session.trainer.join(timeout=60)
    app.frame()


def test_replay_opens_a_saved_run(display, tmp_path):
    from ginn_gl.core.runfile import save_run
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.app import App
    from ginn_gl.ui.session import replay_session
    from ginn_gl.ui.window import glfw

    trainer = Trainer(CONFIG, load_target(CONFIG.image, CONFIG.resolution)).start()
    trainer.join(timeout=60)  # the whole run, then its end
    path = save_run(tmp_path / "replay.npz", trainer.finish().runs[0])
    run = load_run(path)
    app = park_pointer(App(replay_session([run]), title="replay", size=SIZE))
    try:
        app.settings.view.output_boundary = False
        press(app, glfw.KEY_N)
        pixels = view(app)
        assert np.abs(pixels[..., 0] - prediction(run.weights[-1], pixels.shape[0])).max() <= 1.0
        press(app, glfw.KEY_HOME)
        assert np.abs(view(app)[..., 0] - prediction(run.weights[0], pixels.shape[0])).max() <= 1.0
        assert len(app.session.primary.history) == len(run)
    finally:
        app.close()


def test_no_display_is_a_one_line_error(cli):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = cli("--seed", "2", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    for word in ("no display", "ginn-gl train", "ginn-gl render", "ginn-gl export"):
        assert word in lines[0]


WINDOWS = {  # the window kinds a signal must find saving whole: options and the runs they save
    "one seed": (("--seed", "2"), ("live.npz",)),
    "seeds": (("--seeds", "0,1"), ("live-seed0.npz", "live-seed1.npz")),
    # A large target at max pace: the geometry helper lags hundreds of snapshots behind when the signal comes.
    "busy helper": (("--seed", "2", "--pace", "max"), ("live.npz",)),
}


@pytest.mark.parametrize("kind", list(WINDOWS))
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_window_saves_every_run_whole(display, tmp_path, sig, kind):
    options, names = WINDOWS[kind]
    out = tmp_path / "live.npz"
    resolution = "200" if kind == "busy helper" else "32"
    proc = subprocess.Popen([sys.executable, "-m", "ginn_gl", *options, "--image", "circle", "--resolution",
                             resolution, "--steps", "100000000", "--save", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    opened = proc.stdout.readline()  # printed once the window is open and training has started
    assert "training seed" in opened, proc.stderr.read() if proc.poll() is not None else opened
    time.sleep(2)
    signalled = time.perf_counter()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, stderr
    assert time.perf_counter() - signalled < 8.0, "saved at once, not after waiting for the geometry"
    assert "Traceback" not in stderr
    for name in names:
        run = load_run(tmp_path / name)
        assert run.steps[-1] > 0 and run.meta["state"] == "stopped" and f"saved {tmp_path / name}" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names), "nothing else written"


def test_replay_ends_on_a_signal_and_a_taken_name_is_refused_first(display, tmp_path, cli):
    from ginn_gl.core.runfile import save_run
    from ginn_gl.train.trainer import Trainer

    trainer = Trainer(CONFIG, load_target(CONFIG.image, CONFIG.resolution)).start()
    trainer.join(timeout=60)  # the whole run, then its end
    out = save_run(tmp_path / "live.npz", trainer.finish().runs[0])
    from tests.conftest import one_line_error

    one_line_error(cli("--steps", "10", "--save", out), "exists", "--overwrite")  # before the window opens
    replay = subprocess.Popen([sys.executable, "-m", "ginn_gl", "replay", str(out)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert "replaying" in replay.stdout.readline()
    time.sleep(1)
    replay.send_signal(signal.SIGINT)
    _, stderr = replay.communicate(timeout=30)
    assert replay.returncode == 128 + signal.SIGINT, stderr


def test_ten_restarts_leave_one_geometry_helper(live_app):
    from ginn_gl.train.geometry_helper import HELPER_MODULE
    from ginn_gl.ui.window import glfw
    from tests.test_run_end import helpers

    app = live_app
    app.settings.pace = MIN_PACE  # every new run crawls: each R below finds one training
    press(app, glfw.KEY_R)
    press(app, glfw.KEY_Y)  # the fixture's run finished: R asks first
    for _ in range(10):
        press(app, glfw.KEY_R)  # while training runs, R restarts at once
    alive = helpers(parent=os.getpid())
    assert len(alive) <= 1, f"{len(alive)} {HELPER_MODULE} processes alive after 10 restarts"
    app.session.trainer.finish(None, wait=False)
    assert not helpers(parent=os.getpid())


def test_keys_through_the_glfw_backend_wake_the_window(live_app):
    """A key as GLFW delivers it: ImGui's GLFW backend, chained to the window's own callback."""
    from imgui_bundle import imgui

    from ginn_gl.ui.window import glfw

    app = live_app
    view(app)  # the view at full resolution: nothing left to refine
    app.window.last_input = 0.0
    assert not app.active
    window = ctypes.cast(app.window.handle, ctypes.c_void_p).value
    imgui.backends.glfw_key_callback(window, glfw.KEY_E, 0, glfw.PRESS, 0)
    assert app.active, "input marks the window active: full frame rate"
    app.frame()
    imgui.backends.glfw_key_callback(window, glfw.KEY_E, 0, glfw.RELEASE, 0)
    app.frame()
    assert app.settings.view.background == "error"


def test_the_window_uses_imgui_bundles_glfw():
    """pyglfw and imgui-bundle's GLFW backend must share one libglfw: imgui_bundle is imported first."""
    code = ("import ginn_gl.ui.app, glfw, imgui_bundle, pathlib; "
            "print(pathlib.Path(glfw.library.glfw._name).resolve().parent == "
            "pathlib.Path(imgui_bundle.__file__).resolve().parent)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stdout + result.stderr


def test_the_window_and_render_draw_identical_pixels(display, tmp_path, cli):
    """One settings type: the same snapshot and view settings give the same bytes in the window's
    view, in `ginn-gl render` and in `ginn-gl export` (the highlighted line's width included)."""
    from ginn_gl.core.runfile import save_run
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.app import App
    from ginn_gl.ui.session import replay_session

    trainer = Trainer(CONFIG, load_target(CONFIG.image, CONFIG.resolution)).start()
    trainer.join(timeout=60)  # the whole run, then its end
    path = save_run(tmp_path / "same.npz", trainer.finish().runs[0])
    app = park_pointer(App(replay_session([load_run(path)]), title="same", size=SIZE))
    try:
        settings = app.settings.view
        settings.line_width = 2.5
        settings.zoom_about((0.5, 0.5), 1.25)
        x0, y0, x1, y1 = app.panel.button_rects[3]  # hovering layer 1, neuron 3 highlights its line
        click(app, (x0 + x1) / 2, (y0 + y1) / 2)
        click(app, (x0 + x1) / 2, (y0 + y1) / 2)  # twice: the line is shown again, and hovered
        assert settings.highlighted == 3 and settings.shown.all() and settings.output_boundary
        window = view(app)
        side = window.shape[0]
        domain = ",".join(repr(v) for v in settings.domain)
        from ginn_gl.ui.window import glfw

        press(app, glfw.KEY_HOME)
        first = view(app)
        assert app.snapshot.step == 0 and settings.highlighted == 3
    finally:
        app.close()
    out = tmp_path / "same.png"
    options = ["--neurons", "all", "--highlight", "1:3", "--line-width", "2.5", "--output-boundary",
               "--domain", domain]
    result = cli("render", path, "--out", out, "--size", side, *options)
    assert result.returncode == 0, result.stderr
    from PIL import Image

    rendered = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert rendered.shape == window.shape and np.array_equal(rendered, window)
    frames = tmp_path / "frames"
    result = cli("export", path, "--out", frames, "--frames", "1", "--size", side, "--no-label", *options)
    assert result.returncode == 0, result.stderr
    frame = np.asarray(Image.open(frames / "frame-00000.png").convert("RGB")).astype(int)
    assert np.array_equal(frame, first), "export's one frame is the first snapshot"


def glfw_event(app, kind, *args):
    """An input event as GLFW delivers it: ImGui's GLFW backend, chained to the window's callbacks."""
    from imgui_bundle import imgui

    window = ctypes.cast(app.window.handle, ctypes.c_void_p).value
    getattr(imgui.backends, f"glfw_{kind}_callback")(window, *args)


@pytest.fixture
def replay_app(display, tmp_path):
    from ginn_gl.core.runfile import save_run
    from ginn_gl.train.trainer import Trainer
    from ginn_gl.ui.app import App
    from ginn_gl.ui.session import replay_session

    trainer = Trainer(CONFIG, load_target(CONFIG.image, CONFIG.resolution)).start()
    trainer.join(timeout=60)  # the whole run, then its end
    run = load_run(save_run(tmp_path / "input.npz", trainer.finish().runs[0]))
    app = park_pointer(App(replay_session([run]), title="input", size=SIZE, frame_log=tmp_path / "frames.jsonl"))
    yield app, run, tmp_path / "frames.jsonl"
    if not app.closed:
        app.close()


def test_every_key_click_and_notch_is_answered_in_the_next_frame(replay_app):
    import json

    from ginn_gl.ui.window import glfw

    app, run, log = replay_app
    press(app, glfw.KEY_HOME)
    view(app)
    assert app.snapshot.step == run.steps[0]
    for _ in range(3):  # three quick presses, all before the next frame
        glfw_event(app, "key", glfw.KEY_RIGHT, 0, glfw.PRESS, 0)
        glfw_event(app, "key", glfw.KEY_RIGHT, 0, glfw.RELEASE, 0)
    app.frame()
    frames = [json.loads(line) for line in log.read_text().splitlines()]
    assert frames[-1]["keys"] == ["RIGHT"] * 3 and frames[-1]["step"] == app.snapshot.step == run.steps[3]
    assert frames[-1]["view_ms"] is not None, "the view was redrawn in that frame"

    x, y, side, _ = app.view_rect  # the view's centre, in window units (no HiDPI under Xvfb)
    centre = (x + side / 2, app.window.size.height - (y + side / 2))
    glfw_event(app, "cursor_pos", *centre)
    for _ in range(3):
        glfw_event(app, "scroll", 0.0, 1.0)
    app.frame()
    assert app.settings.view.zoom == pytest.approx(1.2**3), "three notches, one frame"
    glfw_event(app, "cursor_pos", centre[0] + 51, centre[1])
    glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
    glfw_event(app, "cursor_pos", centre[0], centre[1])
    app.frame()
    glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
    x0, _, x1, _ = app.settings.view.domain
    assert (x0 + x1) / 2 == pytest.approx(0.5 + 51 / side / 1.2**3), "a drag of 51 px pans 51 px"

    glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)  # two presses 0.45 s apart:
    glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
    time.sleep(0.45)
    glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
    glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
    app.frame()
    assert app.settings.view.zoom == pytest.approx(1.2**3), "not a double-click"
    for _ in range(2):  # a double-click with no frame between its presses: timed by the window
        glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
        glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
    app.frame()
    assert app.settings.view.domain == (0.0, 0.0, 1.0, 1.0), "a double-click resets the view"


def test_a_change_is_drawn_at_once_reduced_then_refined(replay_app, tmp_path, monkeypatch):
    """On a CPU rasteriser the frame after a key shows the next snapshot at a reduced scale that
    matches numpy there; frames after it refine the view to full resolution."""
    from ginn_gl.ui.window import glfw

    app, run, log = replay_app
    if not app.pane.progressive:
        pytest.skip("a GPU draws every change at full resolution")
    app.settings.view.output_boundary = False
    press(app, glfw.KEY_N)
    press(app, glfw.KEY_HOME)
    view(app)
    press(app, glfw.KEY_RIGHT)  # its first frame handles the key
    pane = app.pane
    assert app.snapshot.step == run.steps[1] and pane.reduction > 1 and not pane.complete
    texture = pane.reduced[-(-pane.side // pane.reduction)][0]
    size = texture.size[0]
    pixels = np.frombuffer(texture.read(), np.uint8).reshape(size, size, 4)[::-1, :, 0].astype(float)
    assert np.abs(pixels - prediction(run.weights[1], size)).max() <= 1.0, "the reduced view is the new snapshot"
    frames = 0
    while not pane.complete:
        app.frame()
        frames += 1
    assert frames >= 1 and np.abs(view(app)[..., 0] - prediction(run.weights[1], pane.side)).max() <= 1.0
    press(app, glfw.KEY_RIGHT)
    assert not pane.complete
    monkeypatch.chdir(tmp_path)
    app.settings.request_screenshot()  # S: the frame that saves it draws the view whole first
    app.frame()
    assert pane.complete and app.last_screenshot is not None


def test_the_frame_log_has_a_line_per_presented_frame(replay_app):
    import json

    from ginn_gl.ui.window import glfw

    app, run, log = replay_app
    for _ in range(3):
        app.frame()
    press(app, glfw.KEY_T)
    app.close()
    frames = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(frames) == app.frames
    for frame in frames:
        assert {"t", "step", "newest", "training", "scale", "view_ms", "keys"} <= set(frame)
        assert frame["step"] in run.steps and frame["newest"] == run.steps[-1] and frame["training"] is False
        assert 0 < frame["scale"] <= 1 and (frame["view_ms"] is None or frame["view_ms"] >= 0)
    assert [f["keys"] for f in frames if f["keys"]] == [["T"]]
    times = [f["t"] for f in frames]
    assert times == sorted(times) and abs(times[-1] - time.time()) < 60


def test_the_panel_fits_a_900_px_window(display):
    from ginn_gl.cli.window import training_session
    from ginn_gl.ui.app import App

    session = training_session(CONFIG, load_target(CONFIG.image, CONFIG.resolution))
    app = App(session, title="fits", size=(1600, 900))
    app.settings.pace = MIN_PACE  # training all along: the status shows every line it has
    session.trainer.start()
    try:
        for _ in range(3):
            app.frame()
        assert session.trainer.alive and app.panel.overflow == 0, "no scrolling down to Status"
        assert app.panel.diagram_height > 0, "the network diagram is shown"
    finally:
        app.close()
        session.trainer.finish(None, wait=False)


def test_the_panel_fits_with_the_lifecycle_list_open(replay_app):
    app, run, _ = replay_app  # a trained run: its Lifecycle list is long
    x0, y0, x1, y1 = app.panel.lifecycle_rect
    click(app, (x0 + x1) / 2, (y0 + y1) / 2)
    app.frame()
    assert len(app.panel.lifecycle.entries) > 5 and app.panel.overflow == 0, "the list leaves room for Status"
    from imgui_bundle import imgui

    imgui.get_io().add_mouse_pos_event((x0 + x1) / 2, y1 + 0.5 * imgui_line_height() + 4)  # its first entry
    app.frame()
    app.frame()
    assert app.settings.view.highlighted == app.panel.lifecycle.entries[0].neuron, "hovering an entry lights its line"


def test_solo_tints_a_neurons_active_side_and_the_diagram_shows_its_activation(replay_app):
    from imgui_bundle import imgui

    app, run, _ = replay_app
    app.settings.view.output_boundary = False
    view(app)
    io = imgui.get_io()
    x0, y0, x1, y1 = app.panel.button_rects[4]
    io.add_key_event(imgui.Key.mod_ctrl, True)
    click(app, (x0 + x1) / 2, (y0 + y1) / 2)  # Ctrl+click: layer 1, neuron 4 alone
    io.add_key_event(imgui.Key.mod_ctrl, False)
    click(app, 5.0, 5.0)
    assert app.settings.view.solo == 4
    pixels = view(app).astype(float)
    side = pixels.shape[0]
    ev = evaluate(run.weights[-1], CONFIG.sizes, CONFIG.activation, grid_points(side, side), gradients=True)
    z, grad = ev.hidden[0][:, 4], ev.hidden_grad[0][:, 4, :] / side
    far = (np.abs(z) / np.linalg.norm(grad, axis=1) > 3).reshape(side, side)  # off its line
    grey = prediction(run.weights[-1], side)
    tinted = np.abs(pixels - grey[..., None]).max(axis=2) > 3
    active = (z > 0).reshape(side, side)
    assert (tinted == active)[far].mean() > 0.99, "the active side is tinted, the other side is not"

    node, next_node = app.panel.diagram.node_centres[20], app.panel.diagram.node_centres[21]
    assert 0 < next_node[1] - node[1] < 8, "in a short diagram the nodes' hit circles overlap"
    io.add_mouse_pos_event(node[0], node[1] + 0.45 * (next_node[1] - node[1]))  # within both, nearer the first
    app.frame()
    app.frame()
    assert app.panel.probe == 20, "the nearest node alone: one highlight, one tooltip"
    io.add_mouse_pos_event(*node)  # layer 2, neuron 4: hover it
    app.frame()
    app.frame()
    assert app.panel.probe == 20
    thumb = app.thumbnail.read()[..., :3].astype(float)
    n = thumb.shape[0]
    z2 = evaluate(run.weights[-1], CONFIG.sizes, CONFIG.activation, grid_points(n, n)).hidden[1][:, 4].reshape(n, n)
    lit = thumb.max(axis=2) > 55
    assert 0.05 < (z2 > 0).mean() < 0.95 and (lit == (z2 > 0)).mean() > 0.97, "its activation, pixel by pixel"


def cell_views(app):
    """Each visible cell's pixels once every cell shows the current settings."""
    settle(app)
    return [cell.astype(int) for cell in app.captured_cells]


def test_seeds_side_by_side_share_the_slider_toggles_and_close(display, tmp_path):
    """`--seeds 0,1`: two cells, each its own network's picture; one slider by step, one set of neuron
    toggles; a label click maximises a cell and the panel follows it."""
    from dataclasses import replace

    from ginn_gl.cli.window import training_session
    from ginn_gl.ui.app import App
    from ginn_gl.ui.window import glfw

    config = replace(CONFIG, seeds=(0, 1))
    session = training_session(config, load_target(config.image, config.resolution))
    app = park_pointer(App(session, title="seeds", size=SIZE))
    try:
        session.trainer.start()
        session.trainer.join(timeout=120)
        histories = [track.history for track in session.tracks]
        app.settings.view.output_boundary = False
        press(app, glfw.KEY_N)
        cells = cell_views(app)
        assert len(cells) == 2 and cells[0].shape == cells[1].shape
        side = cells[0].shape[0]
        assert side == app.grid.cells[0].rect[2] > 200
        label_rows = int(app.grid.cells[0].label_rect[3]) + 8  # the labels lie over the top left
        lasts = [history.read() for history in histories]
        for pixels, last in zip(cells, lasts):
            expected = prediction(last.weights, side)
            assert np.abs(pixels[label_rows:, :, 0] - expected[label_rows:]).max() <= 1.0
        assert np.abs(cells[0] - cells[1]).max() > 50, "two seeds, two pictures"

        # One neuron toggle: both cells change along that neuron's line, each in its own network.
        distances = []  # [network][neuron]: each pixel's distance to the layer-1 neuron's line
        for last in lasts:
            ev = evaluate(last.weights, config.sizes, config.activation, grid_points(side, side), gradients=True)
            grad = np.linalg.norm(ev.hidden_grad[0] / side, axis=2)
            distances.append([(np.abs(ev.hidden[0][:, n]) / grad[:, n]).reshape(side, side) for n in range(16)])
        neuron = next(n for n in range(16) if all((d[n][label_rows:] < 0.5).sum() > side / 2 for d in distances))
        x0, y0, x1, y1 = app.panel.button_rects[neuron]
        click(app, (x0 + x1) / 2, (y0 + y1) / 2)
        click(app, 5.0, 5.0)
        assert np.flatnonzero(app.settings.view.shown).tolist() == [neuron]
        after = cell_views(app)
        for before, now, distance in zip(cells, after, (d[neuron] for d in distances)):
            changed = np.any(now != before, axis=2)
            changed[:label_rows] = False
            assert changed.sum() > side / 2, "the line is drawn in this cell"
            assert distance[changed].max() < 1.5, "pixels change along this network's line and nowhere else"

        # One slider by step: Home shows both first snapshots; a step moves both cells.
        press(app, glfw.KEY_N)
        press(app, glfw.KEY_HOME)
        assert [cell.snapshot.step for cell in app.grid.cells] == [0, 0]
        for _ in range(3):
            press(app, glfw.KEY_RIGHT)
        step = app.snapshot.step
        assert step > 0 and [cell.snapshot.step for cell in app.grid.cells] == [step, step]
        for pixels, history in zip(cell_views(app), histories):
            expected = prediction(history.read(step).weights, side)
            assert np.abs(pixels[label_rows:, :, 0] - expected[label_rows:]).max() <= 1.0

        # A click on the second cell's label maximises it (the panel follows it); again: both.
        def click_label():  # where the second cell's label is now, through GLFW as the view's clicks arrive
            lx, ly, lw, lh = app.grid.cells[1].label_rect
            glfw_event(app, "cursor_pos", lx + lw / 2, ly + lh / 2)
            glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
            glfw_event(app, "mouse_button", glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
            app.frame()

        click_label()
        assert app.grid.maximised == 1 and app.grid.focus == 1
        (alone,) = cell_views(app)
        assert alone.shape[0] == app.grid.cells[1].rect[2] > side
        assert app.snapshot.step == step and np.array_equal(app.snapshot.weights, histories[1].read(step).weights)
        click_label()
        assert app.grid.maximised is None and len(cell_views(app)) == 2
        press(app, glfw.KEY_TAB)
        assert app.grid.maximised == 0
        for _ in range(2):
            press(app, glfw.KEY_TAB)
        assert app.grid.maximised is None
    finally:
        app.close()


def test_closing_a_seeds_window_saves_a_run_per_seed(display, tmp_path):
    from tests.conftest import close_window

    out = tmp_path / "pair"
    proc = subprocess.Popen([sys.executable, "-m", "ginn_gl", "--seeds", "0,1", "--image", "circle", "--resolution",
                             "32", "--steps", "100000000", "--save", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    opened = proc.stdout.readline()
    assert "training seeds 0,1" in opened, proc.stderr.read() if proc.poll() is not None else opened
    time.sleep(2)
    assert close_window(display, "ginn-gl: circle, seeds 0,1"), "the window is on the display"
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr  # closed by the user: 0
    for seed in (0, 1):
        run = load_run(tmp_path / f"pair-seed{seed}.npz")
        assert run.meta["seed"] == seed and run.steps[-1] > 0 and run.meta["state"] == "stopped"
        assert f"seed {seed}" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair-seed0.npz", "pair-seed1.npz"]


def test_space_pauses_training_while_following_live_and_plays_the_history_otherwise(display):
    from dataclasses import replace

    from ginn_gl.cli.window import training_session
    from ginn_gl.ui.app import App
    from ginn_gl.ui.window import glfw

    config = replace(CONFIG, steps=100_000_000)
    session = training_session(config, load_target(config.image, config.resolution), pace=None)
    app = park_pointer(App(session, title="space", size=SIZE))
    trainer = session.trainer
    try:
        trainer.start()
        history = session.primary.history
        wait_until = time.perf_counter() + 30
        while history.latest_step() < 200 and time.perf_counter() < wait_until:
            app.frame()
        assert app.settings.follow_live and app.training
        press(app, glfw.KEY_SPACE)
        deadline = time.perf_counter() + 5
        while trainer.state.value != "paused" and time.perf_counter() < deadline:
            app.frame()
        paused_at = history.latest_step()
        time.sleep(0.5)
        app.frame()
        assert history.latest_step() == paused_at and trainer.state.value == "paused", "Space paused training"
        assert not app.settings.playing, "and did not start playing the history"
        press(app, glfw.KEY_SPACE)
        deadline = time.perf_counter() + 10
        while history.latest_step() == paused_at and time.perf_counter() < deadline:
            app.frame()
        assert history.latest_step() > paused_at, "Space again resumed it"
        press(app, glfw.KEY_HOME)  # scrubbing: Space plays the history, training goes on
        press(app, glfw.KEY_SPACE)
        assert app.settings.playing and trainer.state.value == "running"
    finally:
        app.close()
        trainer.finish(None, wait=False)
