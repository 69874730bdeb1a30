"""One owner for a run's life: Trainer.finish stops the worker, ends the geometry helper and saves; a
dead, stopped or silent helper never holds the save up, and nothing the program started outlives it."""

import os
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid

import numpy as np
import pytest

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.history import History
from ginn_gl.core.network import parameter_count
from ginn_gl.core.progress import Saving, State
from ginn_gl.core.runfile import load_run
from ginn_gl.core.sources import load_target
from ginn_gl.train.geometry_helper import HELPER_MODULE, GeometryHelper
from ginn_gl.train.trainer import Trainer

SMALL = dict(image="circle", resolution=48, device="cpu")


def helpers(mark: str | None = None, parent: int | None = None) -> list[int]:
    """Pids of live geometry helpers: those whose environment holds `mark`, or whose parent is `parent`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if HELPER_MODULE.encode() not in handle.read():
                    continue
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if fields[0] in (b"Z", b"X"):
                continue
            if parent is not None and int(fields[1]) != parent:
                continue
            if mark is not None:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if mark.encode() not in handle.read():
                        continue
        except OSError:
            continue
        found.append(int(entry))
    return found


def wait_for(condition, seconds=30.0):
    deadline = time.perf_counter() + seconds
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        time.sleep(0.02)


def trainer_with_ready_helper(**overrides) -> Trainer:
    config = TrainConfig(**{**SMALL, **overrides})
    trainer = Trainer(config, load_target(config.image, config.resolution))
    wait_for(lambda: trainer.geometry.ready)
    return trainer


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP])
def test_a_killed_or_stopped_helper_never_holds_up_the_save(tmp_path, fault):
    trainer = trainer_with_ready_helper(steps=6000, lr=1e-2)
    pid = trainer.geometry.process.pid
    os.kill(pid, fault)
    trainer.start().join(timeout=120)
    assert trainer.state is State.FINISHED
    started = time.perf_counter()
    finished = trainer.finish(Saving((tmp_path / "run.npz",)))
    assert time.perf_counter() - started < 5.0, "noticed at once, not after a 30 s wait"
    run = load_run(finished.saved[0])
    assert run.meta["state"] == "finished" and run.steps[-1] == 6000
    assert finished.unmeasured > 0 and (run.regions == -1).sum() == finished.unmeasured, "unmeasured ones marked"
    problem = finished.geometry_problem or ""
    assert "ended" in problem or "stopped" in problem
    assert trainer.geometry.process.poll() is not None, "the helper is gone, stopped or not"
    assert pid not in helpers()


def test_a_silent_helper_is_given_up_within_the_stall_limit(tmp_path, monkeypatch):
    """A helper that runs but answers nothing for STALL_SECONDS (tests/silent_helper.py, a real process
    in the helper's place): the save does not wait for it."""
    from ginn_gl.train import geometry_helper

    monkeypatch.setattr(geometry_helper, "HELPER_MODULE", "tests.silent_helper")
    trainer = trainer_with_ready_helper(steps=3)
    trainer.start().join(timeout=60)
    started = time.perf_counter()
    finished = trainer.finish(Saving((tmp_path / "run.npz",)))
    assert geometry_helper.STALL_SECONDS <= time.perf_counter() - started < geometry_helper.STALL_SECONDS + 2.5
    assert "answered nothing" in (finished.geometry_problem or "") and finished.saved and finished.unmeasured == 4


def test_finish_measures_what_is_left_after_a_whole_run_and_ends_the_helper(tmp_path):
    trainer = trainer_with_ready_helper(steps=1500, lr=1e-2)
    trainer.start().join(timeout=60)
    finished = trainer.finish(Saving((tmp_path / "run.npz",)))
    run = load_run(finished.saved[0])
    assert (run.regions > 0).all() and finished.unmeasured == 0 and finished.geometry_problem is None
    assert trainer.geometry.process.poll() is not None
    assert trainer.finish() is finished, "finishing again returns the same result"


def test_waiting_snapshots_are_steps_not_copies_of_their_weights():
    """What waits for the helper is bounded: a stopped helper and 3,000 snapshots of an 8x64 net keep
    only their step numbers (weight copies would be 100 MB)."""
    sizes = [2, *[64] * 8, 1]
    n_params = parameter_count(sizes)
    history = History(n_params, 200 << 20, n_hidden=512)
    weights = np.zeros(n_params, np.float32)
    helper = GeometryHelper(load_target("circle", 32).pixels, sizes, "relu", [history])
    try:
        wait_for(lambda: helper.ready)
        os.kill(helper.process.pid, signal.SIGSTOP)
        for step in range(3000):
            history.push(step, weights, 0.5)
        tracemalloc.start()
        for step in range(3000):
            helper.submit(step)
        time.sleep(0.3)  # the sender fills the pipe and blocks
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert helper.lag == 3000
        assert peak < 2 << 20, f"{peak / 2**20:.1f} MB held for 3,000 waiting snapshots"
    finally:
        helper.close()
    assert helper.process.poll() is not None


def test_the_helper_protocol_refuses_malformed_input_with_one_line():
    garbage = np.array([7, 64, 64, 3, 0, 1, 2, 16, 1], np.int64).tobytes() + b"\x07" * 64 * 64
    result = subprocess.run([sys.executable, "-m", HELPER_MODULE], input=garbage, capture_output=True, timeout=60)
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and b"malformed input" in result.stderr
    empty = subprocess.run([sys.executable, "-m", HELPER_MODULE], input=b"", capture_output=True, timeout=60)
    assert empty.returncode == 0 and empty.stderr == b""


def test_train_saves_within_seconds_when_its_helper_is_killed(tmp_path):
    mark = f"GINN_GL_TEST={uuid.uuid4()}"
    key, value = mark.split("=")
    out = tmp_path / "run.npz"
    proc = subprocess.Popen([sys.executable, "-m", "ginn_gl", "train", "--image", "circle", "--resolution", "48",
                             "--steps", "40000", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, key: value})
    wait_for(lambda: helpers(mark), 60)
    for pid in helpers(mark):
        os.kill(pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    run = load_run(out)
    assert run.meta["state"] == "finished" and (run.regions == -1).any()
    assert "geometry helper ended" in stderr and "saved without their geometry" in stderr
    assert not helpers(mark)
