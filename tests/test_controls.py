"""The window's settings without imgui: following live, scrubbing by step, autoplay, speed, toggles,
zoom, and the keymap."""

import re
from pathlib import Path

import numpy as np
import pytest

from ginn_gl.core.history import History, snapshot_bytes
from ginn_gl.core.pace import MAX_PACE
from ginn_gl.core.view import ViewSettings
from ginn_gl.ui.controls import KEYMAP, MAX_SPEED, MIN_SPEED, Settings, dispatch

SIZES = [2, 4, 3, 1]
N_PARAMS = 4 * 3 + 3 * 4 + 4


def history_with(steps, capacity_rows=1000):
    history = History(N_PARAMS, capacity_rows * snapshot_bytes(N_PARAMS) + 4096, curve_bytes=4096)
    assert history.capacity == capacity_rows
    for step in steps:
        history.push(step, np.full(N_PARAMS, step, np.float32), 1.0 / (step + 1))
    return history


def shown_step(settings, history, training=True):
    return settings.resolve(history, training).step


def test_follows_live_until_moved_and_live_returns():
    history = history_with(range(10))
    s = Settings(sizes=SIZES)
    assert shown_step(s, history) == 9
    history.push(10, np.zeros(N_PARAMS, np.float32), 0.1)
    assert shown_step(s, history) == 10, "follows the newest snapshot"
    for _ in range(3):
        s.step_back()
    assert shown_step(s, history) == 7 and not s.follow_live, "three presses in one frame: three moves"
    history.push(11, np.zeros(N_PARAMS, np.float32), 0.1)
    assert shown_step(s, history) == 7, "stays put while training adds snapshots"
    s.first()
    assert shown_step(s, history) == 0
    s.step_back()
    assert shown_step(s, history) == 0, "clamped at the first"
    s.step_forward()
    s.step_forward()
    assert shown_step(s, history) == 2
    s.go_live()
    assert shown_step(s, history) == 11


def test_a_scrubbed_step_is_found_again_after_thinning():
    history = history_with(range(0, 40), capacity_rows=40)
    s = Settings(sizes=SIZES)
    s.seek(30)
    assert shown_step(s, history) == 30
    history.push(40, np.zeros(N_PARAMS, np.float32), 0.1)  # full: the later half thins to odd steps
    assert history.thinned == 1
    snapshot = s.resolve(history, True)
    assert snapshot.step == 29 and np.all(snapshot.weights == 29), "the newest at or before step 30"
    s.seek(1000)
    assert shown_step(s, history) == 40, "a step past the end shows the newest"


def test_autoplay_speed_live_join_and_loop():
    history = history_with(range(20))
    s = Settings(sizes=SIZES)
    s.toggle_play()  # at the newest: playing starts from the first snapshot
    assert s.playing and shown_step(s, history) == 0
    s.speed = 10.0
    s.advance(0.55)
    assert shown_step(s, history) == 5
    s.advance(1.4)
    assert shown_step(s, history) == 19 and not s.playing and s.follow_live, \
        "reaching the newest while training runs joins live"
    s.toggle_play()
    assert shown_step(s, history, training=False) == 0
    s.advance(1.9)
    assert shown_step(s, history, training=False) == 19
    s.advance(0.3)
    assert s.playing and shown_step(s, history, training=False) == 2, "a finished history loops: 19 -> 0, 1, 2"
    s.toggle_play()
    assert not s.playing
    s.advance(5.0)
    assert shown_step(s, history, training=False) == 2, "paused means still"


def test_speed_steps_and_limits():
    s = Settings(sizes=SIZES, speed=12.0)
    s.faster()
    assert s.speed == pytest.approx(18.0)
    s.slower()
    s.slower()
    assert s.speed == pytest.approx(8.0)
    for _ in range(100):
        s.faster()
    assert s.speed == MAX_SPEED
    for _ in range(100):
        s.slower()
    assert s.speed == MIN_SPEED


def test_neuron_and_layer_toggles():
    view = ViewSettings(SIZES)
    assert view.shown.tolist() == [True] * 7
    view.toggle_neuron(5)
    assert view.shown.tolist() == [True] * 5 + [False, True]
    view.toggle_layer(1)  # not all on: all on
    assert view.shown.all()
    view.toggle_layer(1)  # all on: all off
    assert view.shown.tolist() == [True] * 4 + [False] * 3
    view.toggle_layer(7)  # no such layer: nothing
    view.set_all(False)
    assert not view.shown.any()
    view.set_layer(0, True)
    assert view.shown.tolist() == [True] * 4 + [False] * 3


def test_view_keys():
    s = Settings(sizes=SIZES)
    for key, expected in (("T", "target"), ("T", "prediction"), ("E", "error"), ("T", "target")):
        assert dispatch(s, key, shift=False, repeated=False)
        assert s.view.background == expected
    assert dispatch(s, "2", shift=False, repeated=False) and s.view.shown.tolist() == [True] * 4 + [False] * 3
    assert dispatch(s, "SLASH", shift=True, repeated=False) and s.show_help, "? is shifted /"
    assert not dispatch(s, "SLASH", shift=False, repeated=False), "/ alone is not bound"
    assert not dispatch(s, "T", shift=False, repeated=True), "T does not repeat"
    assert dispatch(s, "RIGHT", shift=False, repeated=True), "Right repeats"


def test_zoom_keeps_the_point_under_the_mouse():
    view = ViewSettings(SIZES)
    assert view.domain == (0.0, 0.0, 1.0, 1.0)
    point = (0.25, 0.75)
    x0, y0, x1, y1 = view.domain
    fx, fy = (point[0] - x0) / (x1 - x0), (point[1] - y0) / (y1 - y0)
    view.zoom_about(point, 4.0)
    x0, y0, x1, y1 = view.domain
    assert x1 - x0 == pytest.approx(0.25) and view.zoom == pytest.approx(4.0)
    assert x0 + fx * (x1 - x0) == pytest.approx(point[0]) and y0 + fy * (y1 - y0) == pytest.approx(point[1])
    view.pan(0.1, 0.0)
    assert view.domain[0] == pytest.approx(x0 + 0.1)
    view.reset_domain()
    assert view.domain == (0.0, 0.0, 1.0, 1.0)


def test_the_readme_lists_exactly_the_keymaps_keys():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("| key |"):].split("\n\n")[0].splitlines()[2:]  # past header and rule
    rows = [re.match(r"\| (.+?) \| (.+) \|$", line).groups() for line in table]
    assert [key for key, _ in rows] == [binding.label for binding in KEYMAP]
    for (key, text), binding in zip(rows, KEYMAP):
        assert text.replace("`", "") == binding.help, f"the README's help for {key} differs from F1's"


def test_plus_and_minus_set_the_pace_while_following_a_live_run_else_the_playback_speed():
    s = Settings(sizes=SIZES, training=True)
    pace, speed = s.pace, s.speed
    s.faster()
    assert s.pace == pytest.approx(pace * 1.5) and s.speed == speed, "following live: the pace"
    s.toggle_max_pace()
    assert s.pace is None, "M: max"
    s.faster()
    assert s.pace is None, "nothing is faster than max"
    s.toggle_max_pace()
    assert s.pace == pytest.approx(pace * 1.5), "M again: the pace it had"
    s.seek(3)  # scrubbing: + and - set the playback speed
    s.slower()
    assert s.speed == pytest.approx(speed / 1.5) and s.pace == pytest.approx(pace * 1.5)
    s.go_live()
    s.pace = None
    s.slower()
    assert s.pace == pytest.approx(MAX_PACE), "slower than max: the top of the range"
    s.training = False  # the run finished: following the newest is no longer pacing anything
    s.faster()
    assert s.speed == pytest.approx(speed) and s.pace == pytest.approx(MAX_PACE), "after training: the playback speed"


@pytest.mark.parametrize("points", [1999, 2000, 3000, 87_000])
def test_the_plotted_minibatch_curve_reaches_the_newest_step(points):
    from ginn_gl.ui.lossplot import PLOT_POINTS, LossPlot

    history = History(N_PARAMS, 1 << 22)
    history.losses.push(np.arange(points, dtype=np.float32))
    plot = LossPlot().curves(history.record())
    assert plot["loss_steps"][-1] == points and len(plot["loss"]) <= PLOT_POINTS
    assert plot["loss"].mean() == pytest.approx((points - 1) / 2, rel=0.01), "bucket means of the whole curve"


def test_plot_ticks_label_a_loss_within_one_decade_and_fit_a_short_plot():
    from ginn_gl.ui.lossplot import linear_ticks, log_ticks

    assert log_ticks(0.17, 0.69) == [0.2, 0.3, 0.5], "ImPlot's own log ticks would label no number here"
    assert log_ticks(0.45, 0.7) == [0.5, 0.7] and log_ticks(0.07, 0.7) == [0.1, 0.2, 0.5]
    assert log_ticks(0.01, 0.7) == [0.01, 0.1] and log_ticks(1e-4, 0.7) == [1e-4, 1e-2]
    assert log_ticks(0.5, 0.5) == [], "a plot a few lines tall: three labels at most"
    for low, high in [(48, 312), (0.24, 1.22), (64, 70), (0, 1), (3, 1e6)]:
        ticks = linear_ticks(low, high)
        steps = np.diff(ticks)
        assert 2 <= len(ticks) <= 3 and low <= ticks[0] and ticks[-1] <= high, (low, high, ticks)
        assert np.allclose(steps, steps[0]) and f"{steps[0]:.0e}"[0] in "125", (low, high, ticks)


def test_a_stroke_over_many_snapshots_is_one_mark_on_the_loss_plot():
    from ginn_gl.ui.lossplot import strokes

    pixels = np.array([10.0, 13.0, 17.0, 24.0, 80.0, 120.0, 125.0])  # a long stroke, a click, a short stroke
    starts, ends = strokes(pixels, gap=8.0)
    assert starts.tolist() == [0, 4, 5] and ends.tolist() == [3, 4, 6]
    assert [len(a) for a in strokes(np.zeros(0))] == [0, 0]
