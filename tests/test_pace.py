"""The training pace (visible change per second) and the progressive view's arithmetic."""

import time

import numpy as np
import pytest

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.pace import DEFAULT_PACE, Pacer, parse_pace
from ginn_gl.core.progress import State
from ginn_gl.core.sources import load_target
from ginn_gl.train.trainer import Trainer
from ginn_gl.ui.viewpane import MIN_BAND, REDUCTIONS, band_rows, choose_reduction

SMALL = dict(image="circle", resolution=32, device="cpu")


def test_pacer_spaces_snapshots_by_how_much_they_change_the_picture():
    pacer = Pacer(pace=20.0)  # percent of the picture a second
    assert pacer.delay(100.0, change=5.0) == 0.0, "the first snapshot waits for nothing"
    pacer.recorded(100.0, waited=False)
    assert pacer.delay(100.01, change=1.0) == pytest.approx(0.04), "1 % at 20 %/s: 1/20 s after the last one"
    assert pacer.delay(100.01, change=4.0) == pytest.approx(0.19), "4 %: four times as long"
    assert pacer.delay(100.01, change=0.0) == 0.0, "a snapshot that changes nothing waits for nothing"
    assert pacer.delay(100.2, change=1.0) == 0.0, "the hardware is behind: no wait"
    for k in range(1, 40):  # snapshots of 1 % on the pace: the measured rates converge to it
        pacer.recorded(100.0 + k / 20, waited=True, change=1.0)
    assert pacer.rate == pytest.approx(20.0, rel=1e-6) and pacer.change_rate == pytest.approx(20.0, rel=1e-6)
    assert pacer.keeping_pace
    pacer.recorded(100.0 + 39 / 20 + 0.5, waited=False, change=1.0)  # a slow stretch: the hardware did not keep up
    assert not pacer.keeping_pace and pacer.rate < 20.0
    pacer.pace = None
    assert pacer.delay(0.0, change=50.0) == 0.0, "max: no limit"


def test_parse_pace():
    assert parse_pace("24") == 24.0 and parse_pace("max") is None and parse_pace(" MAX ") is None
    for bad in ("0", "-3", "nan", "fast", "100000"):
        with pytest.raises(UserError, match="--pace"):
            parse_pace(bad)
    assert DEFAULT_PACE == 40.0


def test_a_paced_trainer_shows_the_picture_changing_at_the_pace_and_stops_within_100_ms():
    pace, steps = 20.0, 400
    trainer = Trainer(TrainConfig(**SMALL, steps=steps, lr=1e-2), load_target("circle", 32), pace=pace).start()
    started = time.perf_counter()
    trainer.join(timeout=60)
    took = time.perf_counter() - started
    assert trainer.state is State.FINISHED
    run = trainer.finish(wait=False).runs[0]
    from ginn_gl.core.network import evaluate, grid_points

    p = [evaluate(w, run.layers, run.activation, grid_points(32, 32)).probability for w in run.weights]
    moved = sum(100 * np.abs(b - a).mean() for a, b in zip(p[:-1], p[1:]))  # percent of the picture, in all
    assert moved / pace * 0.9 <= took <= moved / pace + 5.0, (moved, took)

    slow = Trainer(TrainConfig(**SMALL, steps=steps, lr=1e-2), load_target("circle", 32), pace=1.0).start()
    time.sleep(1.0)  # waiting for its next snapshot: at 1 %/s, seconds a snapshot
    asked = time.perf_counter()
    assert slow.stop(timeout=1.0) and time.perf_counter() - asked < 0.1
    assert slow.state is State.STOPPED


def test_train_is_never_paced():
    trainer = Trainer(TrainConfig(**SMALL, steps=2000), load_target("circle", 32))
    assert trainer.progress().pace is None
    trainer.start().join(timeout=30)
    assert not trainer.progress().keeping_pace and trainer.progress().change_rate > 0


def test_the_reduced_view_fits_the_budget():
    side = 1000
    llvmpipe = 0.36 / side**2  # seconds per pixel: a 1000 px view in 0.36 s on one core
    k = choose_reduction(llvmpipe, side, budget=0.02)
    assert k == 6 and llvmpipe * (side / k) ** 2 <= 0.02 and llvmpipe * (side / 4) ** 2 > 0.02
    assert choose_reduction(5e-10, side, budget=0.02) == 1, "a GPU draws the full view in the budget"
    assert choose_reduction(1e-3, side, budget=0.02) == REDUCTIONS[-1], "never coarser than the last"
    assert choose_reduction(None, side) > 1, "unmeasured: start reduced"
    rows = band_rows(llvmpipe, side, 0.02, left=side)
    assert rows == int(0.02 / (llvmpipe * side)) and llvmpipe * side * rows <= 0.02
    assert band_rows(1.0, side, 0.02, left=side) == MIN_BAND and band_rows(llvmpipe, side, 0.02, left=3) == 3
