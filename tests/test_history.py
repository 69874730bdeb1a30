import threading

import numpy as np
import pytest

from ginn_gl.history import MIN_SNAPSHOTS, History, LossCurve
from ginn_gl.schedule import snapshot_steps


def row(step, n_params):
    return np.full(n_params, step, dtype=np.float32)


def test_million_step_run_stays_under_the_bound_and_keeps_first_and_newest():
    n_params = 609
    budget = 200_000  # bytes: room for a few dozen snapshots of the default net
    history = History(n_params, budget)
    assert history.nbytes <= budget
    steps = snapshot_steps(1_000_000)
    # A minibatch loss per step, pushed in blocks as the trainer does.
    for a, b in zip(steps[:-1], steps[1:]):
        history.losses.push(np.full(b - a, 0.5, dtype=np.float32))
        history.push(int(b), row(b, n_params), float(b))
        assert len(history) <= history.capacity
    assert history.nbytes <= budget
    assert history.thinned > 0
    # What the panel reports as used: the recorded rows and the curve, within the storage held.
    assert history.used_bytes == len(history) * (n_params * 4 + 12) + history.losses.nbytes <= history.nbytes
    recorded = history.steps()
    assert recorded[0] == 1 and recorded[-1] == 1_000_000
    assert np.all(np.diff(recorded) > 0)
    # Dense early, sparse late: the gaps grow.
    gaps = np.diff(recorded)
    assert gaps[: len(gaps) // 4].mean() < gaps[-len(gaps) // 4:].mean()
    loss_steps, loss = history.losses.arrays()
    assert loss_steps[-1] == 1_000_000 and len(loss_steps) * 12 <= history.losses.nbytes
    np.testing.assert_allclose(loss, 0.5)
    # Every row still matches its step: thinning moved whole snapshots.
    for i in range(len(history)):
        snap = history.get(i)
        assert np.all(snap.weights == snap.step) and snap.loss == snap.step


def test_too_small_budget_is_refused_with_the_minimum():
    with pytest.raises(ValueError, match="use at least"):
        History(10_000, MIN_SNAPSHOTS * 10_000)


def test_latest_get_and_index_of_step():
    history = History(4, 1 << 20)
    assert history.latest() is None
    for step in (0, 1, 2, 5, 9):
        history.push(step, row(step, 4), step / 10)
    assert history.latest().step == 9 and history.get(-2).step == 5
    assert history.index_of_step(6) == 3 and history.index_of_step(9) == 4
    with pytest.raises(ValueError):
        history.push(9, row(9, 4), 0.0)
    with pytest.raises(IndexError):
        history.get(5)


def test_one_writer_two_readers_never_see_a_torn_snapshot():
    n_params = 2048  # large rows make a torn copy likely if the lock were missing
    history = History(n_params, 64 * (n_params * 4 + 12) + (1 << 20))
    stop = threading.Event()
    problems = []

    def writer():
        step = 0
        while not stop.is_set() and step < 200_000:
            step += 1
            history.push(step, row(step, n_params), float(step))
            if step % 64 == 0:
                history.losses.push(np.full(64, step, dtype=np.float32))

    def reader():
        try:
            read_until_stopped()
        except Exception as exc:  # a reader failing must fail the test
            problems.append(exc)

    def read_until_stopped():
        reads = 0
        while not stop.is_set():
            if reads % 2:
                snap = history.latest()
            else:
                try:  # an index can fall out of range when thinning shrinks the history
                    snap = history.get(reads % 97)
                except IndexError:
                    snap = None
            if snap is not None:
                if not (np.all(snap.weights == snap.step) and snap.loss == snap.step):
                    problems.append((snap.step, snap.weights.min(), snap.weights.max()))
            history.losses.arrays()
            reads += 1

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    threads[0].join(timeout=60)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert history.thinned > 10, "the writer must have thinned while readers read"
    assert not problems, problems[:3]


def test_loss_curve_bucket_means_are_exact():
    rng = np.random.default_rng(0)
    values = rng.random(50_000)
    curve = LossCurve(max_bytes=12 * 500)
    i = 0
    while i < len(values):
        k = int(rng.integers(1, 900))
        curve.push(values[i:i + k])
        i += k
    steps, means = curve.arrays()
    assert steps[-1] == len(values) and len(steps) <= 500 and curve.bucket > 1
    start = 0
    for stop, mean in zip(steps, means):
        assert mean == pytest.approx(values[start:stop].mean(), rel=1e-5)
        start = stop
