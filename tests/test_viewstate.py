"""The panel's logic without imgui: following live, scrubbing, autoplay, speed, toggles, zoom."""

import numpy as np
import pytest

from ginn_gl.history import History
from ginn_gl.viewstate import MAX_SPEED, MIN_SPEED, Settings

SIZES = [2, 4, 3, 1]


def history_with(steps, capacity_rows=1000):
    n_params = 4 * 3 + 3 * 4 + 4
    budget = capacity_rows * (n_params * 4 + 12) * 8 // 7  # an eighth goes to the loss curve
    while History(n_params, budget).capacity < capacity_rows:
        budget += 64
    history = History(n_params, budget)
    assert history.capacity == capacity_rows
    for step in steps:
        history.push(step, np.full(n_params, step, np.float32), 1.0 / (step + 1))
    return history


def test_follows_live_until_moved_and_live_returns():
    history = history_with(range(10))
    s = Settings(sizes=SIZES)
    assert s.current_index(history) == 9
    history.push(10, np.zeros(history.n_params, np.float32), 0.1)
    assert s.current_index(history) == 10, "follows the newest snapshot"
    s.step_by(-3, history)
    assert not s.follow_live and s.current_index(history) == 7
    history.push(11, np.zeros(history.n_params, np.float32), 0.1)
    assert s.current_index(history) == 7, "stays put while training adds snapshots"
    s.first(history)
    assert s.current_index(history) == 0
    s.step_by(-1, history)
    assert s.current_index(history) == 0, "clamped at the first"
    s.go_live()
    assert s.current_index(history) == 11


def test_scrubbed_snapshot_is_found_again_after_thinning():
    history = history_with(range(0, 40), capacity_rows=40)
    s = Settings(sizes=SIZES)
    s.seek(30, history)
    assert history.step_at(s.current_index(history)) == 30
    history.push(40, np.zeros(history.n_params, np.float32), 0.1)  # full: the later half thins
    assert history.generation == 1
    index = s.current_index(history)
    assert history.step_at(index) in (29, 30) and history.step_at(index) <= 30


def test_autoplay_speed_live_join_and_loop():
    history = history_with(range(20))
    s = Settings(sizes=SIZES)
    s.toggle_play(history)  # at the newest: playing starts from the first snapshot
    assert s.playing and s.current_index(history) == 0
    s.speed = 10.0
    s.advance(0.55, history, training=True)
    assert s.current_index(history) == 5
    s.advance(1.4, history, training=True)
    assert s.current_index(history) == 19 and s.playing
    s.advance(0.2, history, training=True)
    assert s.follow_live and not s.playing, "joins live while training runs"
    s.toggle_play(history)
    s.advance(1.9, history, training=False)
    assert s.current_index(history) == 19
    s.advance(0.3, history, training=False)
    assert s.playing and s.current_index(history) == 2, "a finished history loops: 19 -> 0, 1, 2"
    s.toggle_play(history)
    assert not s.playing
    s.advance(5.0, history, training=False)
    assert s.current_index(history) == 2, "paused means still"


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
    s = Settings(sizes=SIZES)
    assert s.shown.tolist() == [True] * 7
    s.toggle_neuron(5)
    assert s.shown.tolist() == [True] * 5 + [False, True]
    s.toggle_layer(1)  # not all on: all on
    assert s.shown.all()
    s.toggle_layer(1)  # all on: all off
    assert s.shown.tolist() == [True] * 4 + [False] * 3
    s.toggle_layer(7)  # no such layer: nothing
    s.set_all(False)
    assert not s.shown.any()
    s.set_layer(0, True)
    assert s.shown.tolist() == [True] * 4 + [False] * 3


def test_view_keys():
    s = Settings(sizes=SIZES)
    s.toggle_target_view()
    assert s.view == "target"
    s.toggle_target_view()
    assert s.view == "prediction"
    s.toggle_error_view()
    assert s.view == "error"
    s.toggle_target_view()
    assert s.view == "target"


def test_zoom_keeps_the_point_under_the_mouse():
    s = Settings(sizes=SIZES)
    assert s.domain() == (0.0, 0.0, 1.0, 1.0)
    point = (0.25, 0.75)
    x0, y0, x1, y1 = s.domain()
    fx, fy = (point[0] - x0) / (x1 - x0), (point[1] - y0) / (y1 - y0)
    s.zoom_about(point, 4.0)
    x0, y0, x1, y1 = s.domain()
    assert x1 - x0 == pytest.approx(0.25)
    assert x0 + fx * (x1 - x0) == pytest.approx(point[0]) and y0 + fy * (y1 - y0) == pytest.approx(point[1])
    s.pan(0.1, 0.0)
    assert s.domain()[0] == pytest.approx(x0 + 0.1)
    s.reset_view()
    assert s.domain() == (0.0, 0.0, 1.0, 1.0)
