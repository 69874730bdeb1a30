"""Experiments: target versions (--switch, painting), branches, a run's target as an image, pictures
that keep their proportions, Setup in the window, and the copied command that trains a window's run
again from scratch."""

import argparse
import hashlib
import shlex
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.network import bce_with_logits, evaluate
from ginn_gl.core.runfile import load_run
from ginn_gl.core.sources import load_target
from ginn_gl.core.targets import target_points
from tests.conftest import one_line_error, run_cli

QUICK = ["--image", "circle", "--resolution", "32", "--lr", "1e-2"]


def loss_against(run, index, target):
    z = evaluate(run.weights[index], run.layers, run.activation, target_points(target.shape)).logits
    return bce_with_logits(z, target.reshape(-1))


def test_switch_records_versions_and_each_loss_is_against_the_target_in_force(tmp_path):
    out = tmp_path / "switched.npz"
    result = run_cli("train", *QUICK, "--steps", "1200", "--switch", "300:rings", "--switch", "700:checker",
                     "--out", out)
    assert result.returncode == 0, result.stderr
    run = load_run(out)
    assert run.meta["switches"] == [[300, "rings"], [700, "checker"]]
    np.testing.assert_array_equal(run.target_steps, [0, 300, 700])
    for version, name in enumerate(("circle", "rings", "checker")):
        np.testing.assert_array_equal(run.targets[version], load_target(name, 32).pixels)
    for index in range(0, len(run), 17):
        target = run.target_at(int(run.steps[index]))
        assert run.snap_loss[index] == pytest.approx(loss_against(run, index, target), rel=1e-4, abs=1e-6)
    assert run.snap_loss[-1] == pytest.approx(loss_against(run, len(run) - 1, run.targets[2]), rel=1e-4)
    info = run_cli("info", out).stdout
    assert f"versions   3 of the target, from steps {', '.join(f'{int(s):,}' for s in run.target_steps)}" in info
    one_line_error(run_cli("train", *QUICK, "--steps", "100", "--switch", "100:rings", "--out", tmp_path / "x"),
                   "--switch 100:rings", "beyond --steps")
    one_line_error(run_cli("train", *QUICK, "--steps", "100", "--switch", "50:rings", "--switch", "20:moons",
                           "--out", tmp_path / "x"), "not after")
    one_line_error(run_cli("train", "--image", "circle", "--resolution", "40", "--steps", "100", "--switch",
                           f"50:{out}@0", "--out", tmp_path / "y"), "--switch", "same size")


def test_a_branch_starts_from_its_parents_bytes_and_continues_its_numbering(tmp_path):
    parent = tmp_path / "parent.npz"
    assert run_cli("train", *QUICK, "--steps", "2000", "--switch", "900:rings", "--out", parent).returncode == 0
    run = load_run(parent)
    at = int(run.steps[len(run) // 2])
    branch = tmp_path / "branch.npz"
    result = run_cli("train", "--from", parent, "--at", at, "--steps", "500", "--lr", "3e-3", "--out", branch)
    assert result.returncode == 0, result.stderr
    child = load_run(branch)
    index = int(np.flatnonzero(run.steps == at)[0])
    assert child.steps[0] == at and child.steps[-1] == at + 500, "its steps continue the parent's numbering"
    assert child.weights[0].tobytes() == run.weights[index].tobytes(), "its first snapshot: the parent's bytes"
    assert child.snap_loss[0] == run.snap_loss[index], "against the same target, the same loss"
    np.testing.assert_array_equal(child.target, run.target_at(at), "the parent's target then (rings)")
    assert child.meta["parent"] == {"run": "parent.npz", "step": at,
                                    "sha256": hashlib.sha256(parent.read_bytes()).hexdigest()}
    assert child.meta["lr"] == 3e-3 and child.meta["layers"] == run.meta["layers"] and child.loss_steps[0] == at + 1
    between = tmp_path / "between.npz"  # a step between two snapshots: the one in force then, as the window shows
    result = run_cli("train", "--from", parent, "--at", at + 1, "--steps", "10", "--out", between)
    assert result.returncode == 0 and f"branching from step {at:,}" in result.stderr, result.stderr
    assert load_run(between).meta["parent"]["step"] == at and load_run(between).steps[0] == at
    result = run_cli("train", "--from", parent, "--at", at, "--steps", "10", cwd=tmp_path)  # a default name
    assert result.returncode == 0 and len(list((tmp_path / "runs").glob(f"parent-seed*-from{at}-*.npz"))) == 1
    one_line_error(run_cli("train", "--from", parent, "--at", -1, "--out", tmp_path / "x"),
                   "--at -1", "before the first snapshot")
    one_line_error(run_cli("train", "--from", parent, "--at", at, "--layers", "8,8", "--out", tmp_path / "x"),
                   "keeps its parent's network")
    one_line_error(run_cli("train", "--at", at, "--out", tmp_path / "x"), "--from RUN and --at STEP")


def test_a_runs_target_is_an_image_and_a_picture_keeps_its_proportions(tmp_path):
    wide = np.zeros((200, 300), np.uint8)
    wide[50:150, 40:260] = 255  # a white bar on black: 300 x 200
    picture = tmp_path / "wide.png"
    Image.fromarray(wide).save(picture)
    out = tmp_path / "wide.npz"
    assert run_cli("train", "--image", picture, "--resolution", "60", "--steps", "200", "--out", out).returncode == 0
    run = load_run(out)
    assert run.target.shape == (40, 60), "the long side is --resolution; the picture keeps its proportions"
    assert run.target[10:30, 8:52].all() and not run.target[:8].any()
    png = tmp_path / "wide-render.png"
    assert run_cli("render", out, "--out", png, "--view", "target", "--neurons", "none", "--no-output-boundary"
                   ).returncode == 0
    drawn = np.asarray(Image.open(png).convert("L"))
    assert drawn.shape == (533, 800), "render's default size follows the picture's proportions"
    expected = np.kron(run.target, np.ones((14, 14), np.uint8))[:533, :800] * 255  # 800 / 60 is 13.3: compare inside
    assert (drawn[::40, ::40] == expected[::40, ::40]).mean() > 0.9
    again = tmp_path / "again.npz"
    result = run_cli("train", "--image", f"{out}@200", "--steps", "10", "--out", again)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(load_run(again).target, run.target)
    one_line_error(run_cli("train", "--image", f"{out}@9999", "--steps", "10", "--out", tmp_path / "x"),
                   "outside the run's steps")


# ---- the window ----------------------------------------------------------------------------------

@pytest.fixture
def window_runs(display, tmp_path):
    """A training window on a long run, as `ginn-gl --save` opens it (runs saved under tmp_path)."""
    from ginn_gl.cli.commands import prepare_process
    from ginn_gl.cli.window import WindowRuns, training_session
    from ginn_gl.core.config import TrainConfig
    from ginn_gl.ui.app import App
    from tests.test_app import park_pointer

    prepare_process(training=True)  # the thread count `ginn-gl train` uses: the same arithmetic
    config = TrainConfig(image="circle", resolution=48, steps=20000, lr=1e-2, seeds=(3,), device="cpu")
    args = argparse.Namespace(no_save=False, save=str(tmp_path / "live.npz"), overwrite=False)
    runs = WindowRuns(args, 400.0, [tmp_path / "live.npz"])
    session = training_session(config, load_target(config.image, config.resolution), 400.0, runs)
    app = park_pointer(App(session, title="experiments", size=(980, 900)))
    yield app, session
    app.close()
    for entry in session.runs:
        if entry.trainer is not None:
            entry.trainer.finish(None, wait=False)


def frames_until(app, condition, seconds=60.0):
    deadline = time.perf_counter() + seconds
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        app.frame()


def xdotool(*args):
    subprocess.run(["xdotool", *map(str, args)], check=True, capture_output=True)


def test_painting_with_a_real_pointer_changes_what_trains_and_the_command_trains_it_again(window_runs, tmp_path):
    from ginn_gl.cli.window import finish_all
    from ginn_gl.ui.window import glfw

    app, session = window_runs
    entry = session.entries[0]
    trainer = entry.trainer
    trainer.start()
    frames_until(app, lambda: trainer.step > 1000)
    from tests.test_app import press

    press(app, glfw.KEY_P)
    assert app.settings.painting
    x, y, side, _ = app.view_rect  # framebuffer pixels from the bottom left; Xvfb has no HiDPI
    top = app.window.size.height - (y + side)
    window_id = subprocess.run(["xdotool", "search", "--name", "^experiments$"], capture_output=True, text=True,
                               check=True).stdout.split()[0]
    # A horizontal white stroke across the black corner of the circle target, at a quarter of the view's height.
    row = top + side // 8
    xdotool("mousemove", "--window", window_id, x + side // 10, row)
    frames_until(app, lambda: True)
    xdotool("mousedown", "--window", window_id, 1)
    for column in range(x + side // 10, x + side * 9 // 10, side // 20):
        xdotool("mousemove", "--window", window_id, column, row)
        app.frame()
    xdotool("mouseup", "--window", window_id, 1)
    app.frame()
    assert entry.draft is not None and entry.draft_version > 0, "the stroke reached the draft"
    painted_row = int((1 / 8 + 0.5 / side) * 48)
    assert entry.draft[painted_row, 10:38].all(), "a white band where the pointer went"
    stroke = time.perf_counter()
    frames_until(app, lambda: trainer.painted_at is not None and trainer.painted_at >= stroke - 1.0)
    engine_target = trainer.engine.table[:, 3].numpy().reshape(48, 48)
    np.testing.assert_array_equal(engine_target, entry.draft, "the trainer trains on the painted target")
    frames_until(app, lambda: trainer.done, 120)
    command = app.experiments.command
    assert "--switch" in command and "live.npz@" in command
    results = finish_all(session, None)
    saved = results[0][1].saved[0]
    run = load_run(saved)
    assert len(run.target_steps) >= 2 and run.targets[-1][painted_row, 10:38].all(), "the versions are saved"
    words = shlex.split(command)
    assert words[:2] == ["ginn-gl", "train"]
    again = tmp_path / "again.npz"
    result = subprocess.run([sys.executable, "-m", "ginn_gl", *words[1:], "--device", "cpu", "--out", str(again)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    twin = load_run(again)
    np.testing.assert_array_equal(twin.target_steps, run.target_steps)
    np.testing.assert_array_equal(twin.steps, run.steps)
    assert twin.weights.tobytes() == run.weights.tobytes(), "the pace and the frame rate trained nothing"


def test_setup_starts_a_run_with_another_layer_width_on_a_dropped_picture(window_runs, tmp_path):
    from ginn_gl.cli.window import finish_all

    app, session = window_runs
    first = session.entries[0]
    first.trainer.start()
    app.frame()
    picture = tmp_path / "dropped.png"
    half = np.zeros((48, 48), np.uint8)
    half[:, 24:] = 255
    Image.fromarray(half).save(picture)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    app.window.on_drop(None, [str(broken)])  # what GLFW calls for a file dropped on the window
    app.frame()
    assert "dropped file" in app.experiments.setup.error and first.training, "one line, training goes on"
    app.window.on_drop(None, [str(picture)])
    app.frame()
    setup = app.experiments.setup
    assert setup.text["image"] == str(picture) and not setup.error
    setup.text["layers"] = "24,16"
    app.experiments.start(instead=False)  # what Setup's Start beside does
    app.frame()
    assert len(session.entries) == 2 and len(app.grid.cells) == 2, "beside the first"
    second = session.entries[1]
    assert second.config.layers == (24, 16) and second.trainer.alive
    np.testing.assert_array_equal(second.tracks[0].target, (half > 127).astype(np.uint8))
    setup.text["layers"] = "0"
    app.experiments.start(instead=False)
    assert "--layers" in setup.error and len(session.entries) == 2, "refused in place with the CLI's message"
    frames_until(app, lambda: second.trainer.step > 100)
    results = finish_all(session, None, wait=False)
    saved = [finished.saved[0] for _, finished in results]
    assert saved[0].name == "live.npz" and saved[1].name == "live-2.npz", "each to its own file, numbered beside"
    assert load_run(saved[1]).layers == [2, 24, 16, 1]


def test_r_on_a_branch_trains_it_again_from_its_branch_point(window_runs):
    from ginn_gl.ui.window import glfw
    from tests.test_app import press

    app, session = window_runs
    parent = session.entries[0]
    parent.trainer.start()
    frames_until(app, lambda: parent.trainer.step > 1000)
    parent.trainer.pause()
    frames_until(app, lambda: parent.trainer.progress().state.value == "paused")
    press(app, glfw.KEY_END)
    app.settings.follow_live = False  # the branch starts from the shown snapshot, held still
    press(app, glfw.KEY_B)
    assert len(session.entries) == 2, app.experiments.setup.error
    branch = session.entries[1]
    point = branch.trainer.branch
    assert point is not None and not point.path.exists(), "its parent is not saved until the window closes"
    app.grid.toggle_maximised(app.grid.cells.index(next(c for c in app.grid.cells if c.track is branch.tracks[0])))
    assert app.experiments.selected() is branch, "the maximised branch is the selected run"
    press(app, glfw.KEY_R)  # training runs: R restarts at once, from the branch point, not from a fresh network
    again = session.entries[-1]
    assert again is not branch and again.trainer.branch is point and not app.experiments.setup.error
    first = again.tracks[0].history.read(-1)
    assert first.step == point.step and first.weights.tobytes() == point.weights.tobytes()
