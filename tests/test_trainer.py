import threading
import time

import numpy as np
import pytest

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.network import bce_with_logits, evaluate, grid_points
from ginn_gl.core.progress import State
from ginn_gl.core.schedule import snapshot_steps
from ginn_gl.core.sources import load_target
from ginn_gl.train.trainer import Trainer, TrainingFailed

SMALL = dict(image="circle", resolution=32, device="cpu")


def train(**overrides):
    config = TrainConfig(**{**SMALL, **overrides})
    trainer = Trainer(config, load_target(config.image, config.resolution)).start()
    trainer.join(timeout=120)
    return trainer


def test_same_seed_twice_gives_identical_weights():
    a = train(steps=3000, seeds=(4,))
    b = train(steps=3000, seeds=(4,))
    wa, wb = a.histories[0].record(weights=True).weights, b.histories[0].record(weights=True).weights
    assert wa.shape == wb.shape and np.array_equal(wa, wb), "bit-identical, run after run"
    assert np.array_equal(a.histories[0].losses.arrays()[1], b.histories[0].losses.arrays()[1])
    c = train(steps=3000, seeds=(5,))
    assert not np.array_equal(wa[-1], c.histories[0].record(weights=True).weights[-1])


def test_records_the_schedule_and_learns():
    trainer = train(steps=4000, lr=1e-2)
    assert trainer.state is State.FINISHED and trainer.step == 4000
    record = trainer.histories[0].record(weights=True)
    steps, weights, losses = record.steps, record.weights, record.losses
    np.testing.assert_array_equal(steps, snapshot_steps(4000))
    assert losses[-1] < 0.5 * losses[0]
    # The recorded loss is the full-domain loss of the recorded weights.
    target = load_target("circle", 32).pixels
    logits = evaluate(weights[-1], [2, 16, 16, 16, 1], "relu", grid_points(32, 32)).logits
    assert losses[-1] == pytest.approx(bce_with_logits(logits, target.reshape(-1)), rel=1e-4)
    loss_steps, loss = trainer.histories[0].losses.arrays()
    np.testing.assert_array_equal(loss_steps, np.arange(1, 4001))


def test_snapshots_keep_to_the_schedule_when_gaps_exceed_a_block():
    config = TrainConfig(**SMALL, steps=3000)
    trainer = Trainer(config, load_target("circle", 32), block=8).start()  # gaps reach 30 steps
    trainer.join(timeout=60)
    np.testing.assert_array_equal(trainer.histories[0].record().steps, snapshot_steps(3000))
    np.testing.assert_array_equal(trainer.histories[0].losses.arrays()[0], np.arange(1, 3001))


def test_stop_pause_resume_and_final_snapshot():
    config = TrainConfig(**SMALL, steps=10_000_000)
    trainer = Trainer(config, load_target("circle", 32)).start()
    deadline = time.time() + 30
    while trainer.step < 500 and time.time() < deadline:
        time.sleep(0.01)
    trainer.pause()
    time.sleep(0.1)  # the worker pauses at the end of its block
    paused_at = trainer.step
    time.sleep(0.3)
    assert trainer.step == paused_at and trainer.state is State.PAUSED
    trainer.resume()
    while trainer.step == paused_at and time.time() < deadline:
        time.sleep(0.01)
    assert trainer.step > paused_at
    started = time.perf_counter()
    assert trainer.stop(timeout=1.0), "the worker ends within a second of a stop request"
    assert time.perf_counter() - started < 1.0
    assert not trainer.alive and trainer.state is State.STOPPED
    assert trainer.histories[0].latest_step() == trainer.step, "what was done is recorded"
    assert trainer.runs()[0].meta["steps_done"] == trainer.step


def test_worker_exception_reaches_the_caller():
    config = TrainConfig(**SMALL, steps=1000)
    trainer = Trainer(config, load_target("circle", 32))

    def broken(count, stop=None):
        raise RuntimeError("kernel exploded")

    trainer.engine.run_block = broken
    trainer.start()
    with pytest.raises(TrainingFailed) as info:
        trainer.join(timeout=10)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert trainer.state is State.FAILED and "kernel exploded" in trainer.message
    assert len(trainer.histories[0]) == 1, "the initial snapshot is kept"
    assert not trainer.alive and not [t for t in threading.enumerate() if t.name == "ginn-gl-trainer"]


def test_divergence_stops_with_the_step_and_keeps_history():
    trainer = train(steps=3000, lr=1e9, schedule="constant", head="sigmoid")
    assert trainer.state is State.DIVERGED
    assert "diverged at step 2" in trainer.message
    steps = trainer.histories[0].record().steps
    np.testing.assert_array_equal(steps, [0, 1])
    assert np.isfinite(trainer.histories[0].record(weights=True).weights).all()


def test_several_seeds_in_one_worker_each_get_a_history():
    trainer = train(steps=500, seeds=(0, 1, 2))
    runs = trainer.runs()
    assert [r.meta["seed"] for r in runs] == [0, 1, 2]
    single = train(steps=500, seeds=(1,))
    np.testing.assert_allclose(runs[1].weights, single.runs()[0].weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(runs[1].steps, single.runs()[0].steps)


def test_a_pause_racing_the_end_leaves_the_trainer_finished():
    """Only the worker writes the state: a pause asked for as training ends cannot overwrite 'finished'."""
    for steps in (60, 61, 62):  # the last block ends at a different moment in each
        trainer = Trainer(TrainConfig(**SMALL, steps=steps), load_target("circle", 32)).start()
        while trainer.alive:  # pause and resume all the while, so one pause lands as training ends
            trainer.pause()
            time.sleep(0.0005)
            trainer.resume()
            time.sleep(0.002)
        trainer.pause()  # after the end
        trainer.join()
        assert trainer.state is State.FINISHED and trainer.step == steps
        assert trainer.runs()[0].meta["state"] == "finished"
