import sys
import threading
import time

import numpy as np
import pytest

from ginn_gl.core.history import MIN_SNAPSHOTS, History, LossCurve, snapshot_bytes
from ginn_gl.core.schedule import snapshot_steps


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
    assert history.used_bytes == len(history) * snapshot_bytes(n_params) + history.losses.nbytes <= history.nbytes
    recorded = history.record().steps
    assert recorded[0] == 1 and recorded[-1] == 1_000_000
    assert np.all(np.diff(recorded) > 0)
    # Dense early, sparse late: the gaps grow.
    gaps = np.diff(recorded)
    assert gaps[: len(gaps) // 4].mean() < gaps[-len(gaps) // 4:].mean()
    loss_steps, loss = history.losses.arrays()
    assert loss_steps[-1] == 1_000_000 and len(loss_steps) * 12 <= history.losses.nbytes
    np.testing.assert_allclose(loss, 0.5)
    # Every row still matches its step: thinning moved whole snapshots.
    for step in recorded:
        snap = history.read(step)
        assert snap.step == step and np.all(snap.weights == snap.step) and snap.loss == snap.step


def test_too_small_budget_is_refused_with_the_minimum():
    with pytest.raises(ValueError, match="use at least"):
        History(10_000, MIN_SNAPSHOTS * 10_000)


def test_read_by_step_offset_and_wrap():
    history = History(4, 1 << 20)
    assert history.read() is None
    for step in (0, 1, 2, 5, 9):
        history.push(step, row(step, 4), step / 10)
    assert history.read().step == 9 and history.read().newest
    assert history.read(6).step == 5 and history.read(9).step == 9 and history.read(-1).step == 0
    assert history.read(6, offset=1).step == 9 and history.read(6, offset=-2).step == 1
    assert history.read(6, offset=10).step == 9 and history.read(6, offset=-10).step == 0, "clamped"
    assert history.read(9, offset=1, wrap=True).step == 0, "counted round"
    snap = history.read(2)
    assert (snap.index, snap.count) == (2, 5) and np.all(snap.weights == 2) and snap.loss == pytest.approx(0.2)
    with pytest.raises(ValueError):
        history.push(9, row(9, 4), 0.0)


class NoLock:
    """Stands in for the history's lock, to show that the race test notices when it is missing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def seek_while_thinning(history, seconds):
    """A writer that thins the history all the time and two readers seeking at random; returns
    what the readers saw wrong (torn or misplaced snapshots, exceptions)."""
    stop = threading.Event()
    problems = []

    def writer():
        step = 0
        while not stop.is_set():
            step += 1
            history.push(step, row(step, history.n_params), float(step))

    def reader(seed):
        rng = np.random.default_rng(seed)
        try:
            while not stop.is_set() and len(problems) < 10:
                newest = max(history.latest_step(), 1)
                wanted = int(rng.integers(0, newest + 1))
                snap = history.read(wanted, offset=int(rng.integers(-2, 3)))
                if not (np.all(snap.weights == snap.step) and snap.loss == snap.step and 0 <= snap.index < snap.count):
                    problems.append(("torn", wanted, snap.step, snap.index, snap.count))
        except Exception as exc:  # a failing read must fail the test
            problems.append(exc)

    history.push(0, row(0, history.n_params), 0.0)  # readers start with a snapshot to read (None before any)
    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(k,)) for k in range(2)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show within seconds
    try:
        for t in threads:
            t.start()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not problems:
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        sys.setswitchinterval(switch)
    return problems


def test_readers_seeking_by_step_while_the_writer_thins():
    n_params = 2048  # large rows: a copy takes long enough to be interrupted
    budget = MIN_SNAPSHOTS * snapshot_bytes(n_params) + 4096
    locked = History(n_params, budget, curve_bytes=4096)
    assert locked.capacity == MIN_SNAPSHOTS, "a tiny budget: thinning every eight snapshots"
    assert seek_while_thinning(locked, 3.0) == []
    assert locked.thinned > 100, "the writer thinned the history all the while"
    unlocked = History(n_params, budget, curve_bytes=4096)
    unlocked.lock = NoLock()
    assert seek_while_thinning(unlocked, 10.0), "without the lock the readers see torn snapshots"


def test_one_writer_two_readers_never_see_a_torn_snapshot():
    n_params = 2048  # large rows make a torn copy likely if the lock were missing
    history = History(n_params, 64 * snapshot_bytes(n_params) + (1 << 20))
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
            reads = 0
            while not stop.is_set():
                snap = history.read() if reads % 2 else history.read(reads % 97)
                if snap is not None and not (np.all(snap.weights == snap.step) and snap.loss == snap.step):
                    problems.append((snap.step, snap.weights.min(), snap.weights.max()))
                history.losses.arrays()
                reads += 1
        except Exception as exc:  # a reader failing must fail the test
            problems.append(exc)

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


def test_a_snapshot_not_measured_yet_carries_the_newest_measured_status():
    """The geometry helper lags training by a few snapshots: while following live, the toggles show
    the newest status measured at or before the shown step, and say which step that is."""
    history = History(10, 1 << 20, n_hidden=3)
    for step in (0, 10, 20):
        history.push(step, row(step, 10), 0.5)
    assert history.read(20).status_step is None and (history.read(20).status == -1).all(), "none measured yet"
    history.set_geometry(0, 4, np.zeros(2, np.float32), np.array([0, 1, 2], np.int8))
    later = history.read(20)
    assert later.step == 20 and later.status_step == 0 and later.status.tolist() == [0, 1, 2]
    history.set_geometry(20, 5, np.zeros(2, np.float32), np.array([2, 2, 2], np.int8))
    assert history.read(20).status_step == 20 and history.read(20).status.tolist() == [2, 2, 2]
    assert history.read(10).status_step == 0, "never a status measured after the shown step"
