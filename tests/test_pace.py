"""The training pace (snapshots per second) and the progressive view's arithmetic."""

import time

import pytest

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.pace import DEFAULT_PACE, Pacer, parse_pace
from ginn_gl.core.progress import State
from ginn_gl.core.schedule import snapshot_steps
from ginn_gl.core.targets import load_target
from ginn_gl.train.trainer import Trainer
from ginn_gl.ui.viewpane import MIN_BAND, REDUCTIONS, band_rows, choose_reduction

SMALL = dict(image="circle", resolution=32, device="cpu")


def test_pacer_spaces_snapshots_by_the_wall_clock():
    pacer = Pacer(pace=20.0)
    assert pacer.delay(100.0) == 0.0, "the first snapshot waits for nothing"
    pacer.recorded(100.0, waited=False)
    assert pacer.delay(100.01) == pytest.approx(0.04), "1/20 s after the last one"
    assert pacer.delay(100.2) == 0.0, "the hardware is behind: no wait"
    for k in range(1, 40):  # snapshots on the pace: the measured rate converges to it
        pacer.recorded(100.0 + k / 20, waited=True)
    assert pacer.rate == pytest.approx(20.0, rel=1e-6) and pacer.keeping_pace
    pacer.recorded(100.0 + 39 / 20 + 0.5, waited=False)  # a slow stretch: the hardware did not keep up
    assert not pacer.keeping_pace and pacer.rate < 20.0
    pacer.pace = None
    assert pacer.delay(0.0) == 0.0, "max: no limit"


def test_parse_pace():
    assert parse_pace("24") == 24.0 and parse_pace("max") is None and parse_pace(" MAX ") is None
    for bad in ("0", "-3", "nan", "fast", "100000"):
        with pytest.raises(UserError, match="--pace"):
            parse_pace(bad)
    assert DEFAULT_PACE == 24.0


def test_a_paced_trainer_records_at_the_pace_and_stops_within_100_ms():
    pace, steps = 40.0, 60
    trainer = Trainer(TrainConfig(**SMALL, steps=steps), load_target("circle", 32), pace=pace).start()
    started = time.perf_counter()
    trainer.join(timeout=30)
    snapshots = len(snapshot_steps(steps))
    assert trainer.state is State.FINISHED
    assert time.perf_counter() - started >= (snapshots - 2) / pace, "no faster than the pace"
    assert trainer.progress().keeping_pace and trainer.progress().snapshot_rate == pytest.approx(pace, rel=0.15)

    slow = Trainer(TrainConfig(**SMALL, steps=steps), load_target("circle", 32), pace=0.25).start()
    time.sleep(0.3)  # waiting 4 s for its next snapshot
    asked = time.perf_counter()
    assert slow.stop(timeout=1.0) and time.perf_counter() - asked < 0.1
    assert slow.state is State.STOPPED


def test_train_is_never_paced():
    trainer = Trainer(TrainConfig(**SMALL, steps=2000), load_target("circle", 32))
    assert trainer.pacer.pace is None
    started = time.perf_counter()
    trainer.start().join(timeout=30)
    assert time.perf_counter() - started < len(snapshot_steps(2000)) / DEFAULT_PACE / 2


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
