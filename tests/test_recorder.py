"""ginn_gl.Recorder on a user's own model and loop: what it records is the model's (weights exactly,
the full-image loss, the loss curve, the geometry), recording changes nothing in training, the file
is a normal run file, and models it cannot record are refused naming the layer."""

import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import ginn_gl
from ginn_gl.core.exact import EXACT, data_rect
from ginn_gl.core.partition import partition
from ginn_gl.core.schedule import snapshot_steps

STEPS = 700  # past 50 (every step a snapshot) into the 1% gaps; 700 itself is not on the schedule


def own_model(seed: int = 0) -> nn.Sequential:
    """Two softmax logits, LeakyReLU(0.01), a layer without bias: the forms the Recorder converts."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 12), nn.LeakyReLU(0.01), nn.Linear(12, 10, bias=False), nn.LeakyReLU(0.01),
                         nn.Linear(10, 2))


def adam_loop(model: nn.Sequential, points: torch.Tensor, labels: torch.Tensor, steps: int, recorder=None):
    """A hand-written Adam (no torch.optim): what a user's own loop may look like. Returns the losses."""
    generator = torch.Generator().manual_seed(1)
    params = list(model.parameters())
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    losses = []
    for step in range(1, steps + 1):
        batch = torch.randint(0, len(points), (64,), generator=generator)
        loss = nn.functional.cross_entropy(model(points[batch]), labels[batch])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p, m_p, v_p in zip(params, m, v):
                m_p.mul_(0.9).add_(p.grad, alpha=0.1)
                v_p.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                p.sub_(1e-2 * (m_p / (1 - 0.9**step)) / ((v_p / (1 - 0.999**step)).sqrt() + 1e-8))
        losses.append(float(loss.detach()))
        if recorder is not None:
            recorder.record(step, loss)
    return losses


def flat_parameters(model: nn.Sequential) -> np.ndarray:
    """The run file's layout by hand: W then b per layer, zeros for no bias, two logits as z1 - z0."""
    (w1, b1), w2, (w3, b3) = (model[0].weight, model[0].bias), model[2].weight, (model[4].weight, model[4].bias)
    parts = [w1.reshape(-1), b1, w2.reshape(-1), torch.zeros(10), (w3[1] - w3[0]).reshape(-1), b3[1:] - b3[:1]]
    return torch.cat(parts).detach().numpy()


def full_image_loss(weights: np.ndarray, target: np.ndarray) -> float:
    """float64 BCE over every pixel centre, from the flat weights, written out here."""
    height, width = target.shape
    ys, xs = np.meshgrid((np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width, indexing="ij")
    h, offset = np.stack([xs.ravel(), ys.ravel()], axis=1), 0
    for n_in, n_out in ((2, 12), (12, 10), (10, 1)):
        w = weights[offset:offset + n_out * n_in].astype(np.float64).reshape(n_out, n_in)
        b = weights[offset + n_out * n_in:offset + n_out * (n_in + 1)].astype(np.float64)
        z = h @ w.T + b
        h, offset = np.where(z > 0, z, 0.01 * z), offset + n_out * (n_in + 1)
    z, t = z[:, 0], target.ravel()
    return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))


@pytest.fixture
def one_thread():
    """A network this small trains fastest on one thread (a loaded CI machine: many times faster)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_recorder_records_an_adam_loop_exactly_and_changes_nothing(tmp_path, one_thread):
    model = own_model()
    rec = ginn_gl.Recorder(model, image="circle", resolution=40)
    points, labels = torch.tensor(rec.points, dtype=torch.float32), torch.tensor(rec.target.ravel()).long()
    losses = adam_loop(model, points, labels, STEPS, rec)
    untouched = own_model()  # the same loop with no recorder: recording must not change a single bit
    adam_loop(untouched, points, labels, STEPS)
    for recorded, alone in zip(model.parameters(), untouched.parameters(), strict=True):
        assert torch.equal(recorded, alone)
    run = rec.run()
    rec.close()

    expected = snapshot_steps(1 << 40)[:np.searchsorted(snapshot_steps(1 << 40), STEPS)]
    assert list(run.steps) == [*expected, STEPS]  # the schedule, then where the loop ended
    assert np.array_equal(run.weights[-1], flat_parameters(model))  # the final weights, exactly
    for k in (0, 30, len(run) - 1):
        assert abs(run.loss[k] - full_image_loss(run.weights[k], run.target)) < 2e-6
    with torch.no_grad():  # the model's own loss over the image, two-logit cross-entropy in float64
        own = nn.functional.cross_entropy(model.double()(points.double()), labels)
    assert abs(run.loss[-1] - float(own)) < 2e-6
    assert list(run.minibatch_steps) == list(range(1, STEPS + 1))
    assert np.array_equal(run.minibatch_loss, np.float32(losses))
    meta = run.meta
    assert meta["head"] == "softmax2" and meta["activation"] == "leaky_relu" and meta["layers"] == [2, 12, 10, 1]
    assert meta["steps_done"] == STEPS and "not given: seed, lr" in meta["message"]
    # Geometry from the trainer's own helper: the last snapshot's exact regions in the picture, at least
    # as many as the distinct activation patterns among its pixel centres.
    net = run.network()
    patterns = np.concatenate([z > 0 for z in net.pre_activations(rec.points)], axis=1)
    exact = partition(run.weights[-1], meta["layers"], "leaky_relu", data_rect(run.target.shape))
    assert run.regions[-1] == exact.count >= len(np.unique(patterns, axis=0)) and meta["geometry"] == EXACT
    assert (run.status >= 0).all() and (run.regions >= 0).all()

    path = rec.save(tmp_path / "own.npz")
    saved = ginn_gl.load(path)
    assert np.array_equal(saved.weights, run.weights) and np.array_equal(saved.loss, run.loss)
    with pytest.raises(RuntimeError, match="closed"):
        rec.record(STEPS + 1)


def test_the_recorded_file_is_read_by_every_command(tmp_path, cli, display):
    import subprocess
    import sys

    from tests.conftest import close_window

    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 1))  # one logit, ReLU
    with ginn_gl.Recorder(model, image="moons", resolution=24, geometry=False) as rec:
        for step in range(1, 120):
            rec.record(step, 0.5)
    path = rec.save(tmp_path / "mine.npz")
    assert (ginn_gl.load(path).regions == -1).all()  # geometry=False: unmeasured, as the file says
    info = cli("info", path)
    assert info.returncode == 0 and "recorded by ginn_gl.Recorder" in info.stdout and "119 done" in info.stdout
    assert cli("render", path, "--out", tmp_path / "a.png", "--size", "32").returncode == 0
    assert cli("export", path, "--out", tmp_path / "a.gif", "--size", "32", "--frames", "4").returncode == 0
    replay = subprocess.Popen([sys.executable, "-m", "ginn_gl", "replay", str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert "replaying" in replay.stdout.readline()
        deadline = time.monotonic() + 60
        while not close_window(display, "ginn-gl replay") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert replay.wait(timeout=30) == 0, replay.stderr.read()
    finally:
        replay.kill()


class Doubler(nn.Module):
    def forward(self, x):
        return 2 * x


@pytest.mark.parametrize("model, named", [
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Linear(4, 1)), "Conv2d"),
    (nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1)), "Linear(in_features=3"),
    (nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)), "Tanh()"),
    (nn.Sequential(nn.Linear(2, 8), Doubler(), nn.Linear(8, 1)), "Doubler()"),
    (nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)), "negative_slope=0.2"),
    (nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)), "out_features=3"),
    (nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 1)), "Linear(in_features=8"),
    (nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid()), "Sigmoid()"),
    (nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.LeakyReLU(0.01), nn.Linear(8, 1)), "mixes"),
    (nn.Sequential(nn.Linear(2, 1)), "hidden layer"),
    (nn.Sequential(nn.Linear(2, 65), nn.ReLU(), nn.Linear(65, 1)), "[65]"),
    (Doubler(), "Doubler"),
])
def test_models_it_cannot_record_are_refused_naming_the_layer(model, named):
    with pytest.raises(ValueError) as caught:
        ginn_gl.Recorder(model, image="circle", resolution=16)
    message = str(caught.value)
    assert named in message, message
    assert "nn.Sequential of nn.Linear layers with nn.ReLU or nn.LeakyReLU(0.01)" in message, message


def test_recording_off_the_schedule_is_cheap_and_a_diverged_model_keeps_its_history(tmp_path):
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    rec = ginn_gl.Recorder(model, image="circle", resolution=16, geometry=False)
    for step in range(1, 5001):
        rec.record(step, 0.25)
    held = rec.snapshots
    calls, first = 9_000, 1_000_000
    rec.record(first - 1)  # a snapshot; the next is 1% later, 9,999 steps on
    started = time.perf_counter()
    for step in range(first, first + calls):
        taken = rec.record(step, 0.25)
    per_call = (time.perf_counter() - started) / calls
    assert not taken and rec.snapshots == held + 1
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} us a call off the schedule"  # a few us; CI machines are slow

    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.warns(RuntimeWarning, match="diverged at step 1,100,000"):
        rec.record(1_100_000, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning, not one a step
        rec.record(1_100_001, 0.25)
    run = rec.run()
    assert run.steps[-1] == first - 1 and run.meta["state"] == "diverged"
    assert ginn_gl.load(run.save(tmp_path / "diverged.npz")).meta["state"] == "diverged"
    rec.close()


def test_a_loop_that_runs_past_its_planned_steps_keeps_the_geometric_spacing():
    from ginn_gl.core.schedule import next_snapshot_step

    rec = ginn_gl.Recorder(own_model(), image="circle", resolution=16, steps=60, geometry=False, progress=False)
    for step in range(1, 400):
        rec.record(step, 0.5)
    steps = rec.run().steps.tolist()
    late = [step for step in steps if step > 60]
    assert late and all(b == next_snapshot_step(a, 1 << 62, "geometric") for a, b in zip(late, late[1:])), late
