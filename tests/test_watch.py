"""ginn_gl.watch under Xvfb: the user's loop runs in the test's thread while a viewer process of its own
shows its snapshots live; closing that window early ends only the window; no display is one warning."""

import json
import time

import numpy as np
import pytest
import torch
from torch import nn

import ginn_gl
from ginn_gl.core.schedule import snapshot_steps
from tests.conftest import close_window

STEPS = 3000
CLOSE_AT = 1000  # the step at which the test closes the window, as a user may


def train_step(model, optimiser, points, labels, generator):
    batch = torch.randint(0, len(points), (128,), generator=generator)
    loss = nn.functional.binary_cross_entropy_with_logits(model(points[batch])[:, 0], labels[batch])
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return loss


def frames(log):
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


@pytest.fixture
def small_loop():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a network this small trains fastest on one thread
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 12), nn.ReLU(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 1))
    yield model, torch.optim.Adam(model.parameters(), lr=1e-2), torch.Generator().manual_seed(0)
    torch.set_num_threads(before)


def test_watch_shows_the_loop_live_and_a_window_closed_early_never_stops_it(display, tmp_path, small_loop):
    model, optimiser, generator = small_loop
    log = tmp_path / "frames.jsonl"
    rec = ginn_gl.watch(model, image="circle", resolution=48, save=tmp_path / "watched.npz", title="watch test",
                        frame_log=log, view="regions", window_size=(900, 600))
    points = torch.tensor(rec.points, dtype=torch.float32)
    labels = torch.tensor(rec.target.ravel(), dtype=torch.float32)
    schedule = snapshot_steps(1 << 40)
    last_shown = int(schedule[schedule <= CLOSE_AT][-1])  # on the schedule
    # Snapshots the loop waits to see drawn (at most 20 s each): live, whatever the machine's load.
    awaited = {int(schedule[schedule <= step][-1]) for step in (100, 300, 500, 700)}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (log.exists() and frames(log)):  # the first frame drawn
        time.sleep(0.1)
    try:
        with rec:
            for step in range(1, STEPS + 1):
                rec.record(step, train_step(model, optimiser, points, labels, generator))
                if step < CLOSE_AT:
                    time.sleep(0.002)  # a heavier model's step: the window draws several frames meanwhile
                if step in awaited:
                    waited = time.monotonic() + 20
                    while time.monotonic() < waited and not any(frame["newest"] == step for frame in frames(log)):
                        time.sleep(0.05)
                if step == CLOSE_AT:
                    # The window shows what the loop records, while it records it: wait for its newest snapshot.
                    while time.monotonic() < deadline and not any(
                            frame["newest"] == last_shown and frame["training"] for frame in frames(log)):
                        time.sleep(0.1)
                    live = frames(log)
                    assert rec.window_open
                    assert close_window(display, "ginn-gl watch: watch test")  # the window exists, by its title
                    assert rec.wait(30) and not rec.window_open  # it ends; the loop goes on
                    closed = time.monotonic()
            finished = time.monotonic()
        assert rec.window_exit_status(10) == 0
    finally:
        if rec.window_exit_status(0) is None and rec._process is not None:  # a failed test leaves no window
            rec._process.kill()
    shown = {frame["step"] for frame in live if frame["training"]}
    newest = [frame["newest"] for frame in live]
    assert len(shown) >= 5 and newest == sorted(newest) and newest[-1] == last_shown, (len(shown), newest[-5:])
    run = ginn_gl.load(rec.saved)
    assert rec.saved == tmp_path / "watched.npz"
    assert shown <= set(run.steps.tolist())  # the window showed the recorded snapshots themselves
    assert run.steps[-1] == STEPS and (run.steps > CLOSE_AT).sum() >= 100  # recorded on after the window closed
    assert np.array_equal(run.weights[-1], torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy())
    assert finished - closed < 60  # the rest of the loop, 2,000 steps, ran at its own speed


@pytest.mark.parametrize("display_name, why", [(None, "no display"), (":4321", "cannot open")])
def test_no_display_is_one_warning_and_recording_goes_on(tmp_path, small_loop, monkeypatch, display_name, why):
    model, optimiser, generator = small_loop
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if display_name is None:
        monkeypatch.delenv("DISPLAY", raising=False)
    else:
        monkeypatch.setenv("DISPLAY", display_name)  # set, but nothing answers there
    with pytest.warns(RuntimeWarning) as caught:
        with ginn_gl.watch(model, image="circle", resolution=24, save=tmp_path / "w.npz", geometry=False) as rec:
            points = torch.tensor(rec.points, dtype=torch.float32)
            labels = torch.tensor(rec.target.ravel(), dtype=torch.float32)
            for step in range(1, 301):
                rec.record(step, train_step(model, optimiser, points, labels, generator))
            assert rec.wait(60)  # the viewer, if one started, has given up
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1 and "window cannot open" in messages[0] and "recording goes on" in messages[0], messages
    assert ginn_gl.load(rec.saved).steps[-1] == 300


def test_the_stream_feeds_the_windows_run_and_pause_holds_the_view_still():
    """The pipe's frames, packed by the user's side and read by the viewer's, into the run the window reads."""
    import io

    from ginn_gl.api import stream
    from ginn_gl.api.viewer import StreamedRun, feed
    from ginn_gl.core.history import History
    from ginn_gl.core.progress import State

    sizes, target = [2, 3, 1], np.array([[0, 1], [1, 1]], np.uint8)
    options = {"sizes": sizes, "activation": "relu", "head": "sigmoid", "title": "t", "label": "l", "steps": 0,
               "history_mb": 1.0, "device": "cpu", "view": {}, "fps": 30.0, "size": [900, 600], "frame_log": None}
    weights = [np.full(13, k, np.float32) for k in range(4)]
    pipe = io.BytesIO(stream.Header(options, target).pack() + stream.snapshot(0, 0.7, weights[0])
                      + stream.snapshot(5, 0.6, weights[1]) + stream.losses(np.array([3, 5]), np.array([0.5, 0.4]))
                      + stream.geometry(5, 4, np.array([0.5, 0.25]), np.array([2, 0, 1]))
                      + stream.progress(5, 100.0, 0.4, 1.5, 0))

    def read(count):
        data = pipe.read(count)
        if len(data) < count:
            raise EOFError
        return data

    header = stream.Header.read(read)
    assert header.sizes == sizes and np.array_equal(header.target, target)
    history = History(13, 1 << 20, n_hidden=3)
    run = StreamedRun(stream.config(header.options), history, planned=False)
    run.pause()  # the view stands still: snapshots wait, in order, with their geometry
    feed(run, stream.Reader(header, read))
    assert len(history) == 0 and run.progress().pause_asked and run.step == 5 and run.config.steps == 5
    run.resume()
    record = history.record()
    assert list(record.steps) == [0, 5] and np.array_equal(history.weights_at(5), weights[1])
    assert record.regions[1] == 4 and list(record.status[1]) == [2, 0, 1]
    assert list(record.loss_steps) == [1, 2, 3, 4, 5] and np.allclose(record.loss, [0.5, 0.5, 0.5, 0.4, 0.4])
    assert run.state is State.STOPPED and "ended" in run.message  # the pipe ended without END

    pipe = io.BytesIO(stream.frame(stream.SNAPSHOT, b"\0" * 7))  # a snapshot of the wrong size
    broken = StreamedRun(stream.config(header.options), History(13, 1 << 20, n_hidden=3), planned=True)
    feed(broken, stream.Reader(header, read))
    assert broken.state is State.STOPPED and "bad data" in broken.message
