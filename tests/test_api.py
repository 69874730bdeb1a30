"""The Python API against the command line: ginn_gl.train is `ginn-gl train` (the same bytes), a loaded
run renders and exports what `render` and `export` write, and its network is a float64 forward."""

import math

import numpy as np
import pytest
import torch

import ginn_gl

ARRAYS = ("steps", "weights", "loss", "minibatch_steps", "minibatch_loss", "target", "regions", "density", "status")
# --ginn's setup with options beside it that win: the preset, the keywords' spelling and the checks at once
CLI_OPTIONS = ("--ginn", "--image", "circle", "--resolution", "32", "--steps", "400", "--seed", "5", "--layers", "8,8",
               "--activation", "leaky_relu", "--batch-size", "64", "--lr", "0.003")
KEYWORDS = {"ginn": True, "image": "circle", "resolution": 32, "steps": 400, "seed": 5, "layers": (8, 8),
            "activation": "leaky_relu", "batch_size": 64, "lr": 0.003}
STAMPS = ("created", "train_seconds")  # what differs between two runs of the same training


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    from tests.conftest import run_cli

    path = tmp_path_factory.mktemp("cli") / "cli.npz"
    result = run_cli("train", *CLI_OPTIONS, "--out", path)
    assert result.returncode == 0, result.stderr
    return path


def test_train_is_the_cli_run_byte_for_byte(cli_run, tmp_path, capfd):
    run = ginn_gl.train(**KEYWORDS, out=tmp_path / "api.npz", progress=False)
    assert capfd.readouterr().err == ""  # progress=False: not a character on stderr
    cli, saved = ginn_gl.load(cli_run), ginn_gl.load(tmp_path / "api.npz")
    assert run.path == tmp_path / "api.npz"
    assert cli.meta["snapshots"] == "ginn" and cli.meta["head"] == "softmax2" and cli.meta["lr"] == 0.003
    for name in ARRAYS:
        for other in (cli, saved):
            a, b = getattr(run, name), getattr(other, name)
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    assert (run.regions >= 0).all()  # measured by the trainer's helper, as the command's are
    differs = {key for key in set(run.meta) | set(cli.meta) if run.meta.get(key) != cli.meta.get(key)}
    assert differs <= set(STAMPS), differs


def test_train_shows_a_bar_and_writes_no_file_without_out(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = ginn_gl.train(image="circle", resolution=16, steps=30, layers=(4,))
    err = capfd.readouterr().err
    assert "step 30/30" in err and "steps/s" in err
    assert run.path is None and list(tmp_path.iterdir()) == []
    assert list(run.steps[[0, -1]]) == [0, 30] and run.meta["state"] == "finished"


@pytest.mark.parametrize("keywords, named", [
    ({"steps": 0}, "steps"), ({"batch_size": -1}, "batch_size"), ({"lr": math.nan}, "lr"), ({"layers": (0,)}, "layers"),
    ({"layers": "16,x"}, "layers"), ({"history_mb": 0}, "history_mb"), ({"activation": "tanh"}, "activation"),
    ({"snapshots": "every"}, "snapshots"), ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": True}, "seed"),
    ({"image": "no-such-picture"}, "image"), ({"resolution": 4}, "resolution"), ({"head": "tanh"}, "head"),
    ({"device": "tpu"}, "device"), ({"schedule": "linear"}, "schedule"), ({"threshold": "dark"}, "threshold")])
def test_a_bad_keyword_is_a_value_error_naming_it(keywords, named, capfd):
    with pytest.raises(ValueError) as caught:
        ginn_gl.train(**keywords)
    message = str(caught.value)
    assert named in message and "--" not in message, message
    assert capfd.readouterr().err == ""  # refused before any training


def test_an_existing_out_is_refused_unless_overwrite(cli_run):
    before = cli_run.read_bytes()
    with pytest.raises(ValueError, match="overwrite=True"):
        ginn_gl.train(image="circle", resolution=16, steps=5, out=cli_run)
    assert cli_run.read_bytes() == before


@pytest.mark.parametrize("cli_view, api_view", [
    (("--size", "96", "--view", "regions", "--solo", "1:3", "--step", "120"),
     {"size": 96, "view": "regions", "solo": (1, 3), "step": 120}),
    (("--size", "120x80", "--neurons", "1:*,2:5", "--contrast", "stretch", "--domain=-0.5,-0.25,1.5,1.25",
      "--line-width", "3", "--highlight", "2:1", "--snapshot", "40"),
     {"size": (120, 80), "neurons": ["1:*", "2:5"], "contrast": "stretch", "domain": (-0.5, -0.25, 1.5, 1.25),
      "line_width": 3, "highlight": "2:1", "snapshot": 40}),
    (("--size", "64", "--view", "error", "--no-output-boundary", "--shading", "gradient"),
     {"size": 64, "view": "error", "output_boundary": False, "shading": "gradient"}),
])
def test_load_then_render_is_what_cli_render_writes(cli_run, tmp_path, cli, cli_view, api_view):
    from PIL import Image

    out = tmp_path / "cli.png"
    result = cli("render", cli_run, "--out", out, *cli_view)
    assert result.returncode == 0, result.stderr
    written = np.asarray(Image.open(out).convert("RGB"))
    pixels = ginn_gl.load(cli_run).render(**api_view)
    assert pixels.dtype == np.uint8 and pixels.shape == written.shape
    assert np.array_equal(pixels, written)


def test_the_api_leaves_no_gl_context_current(cli_run, tmp_path):
    """A thread that holds a current EGL context cannot open a GLX window later (the window tests run after)."""
    import ctypes

    run = ginn_gl.load(cli_run)
    run.render(size=32)
    run._repr_png_()
    run.export(tmp_path / "frames", frames=2, size=16, progress=False)  # `frames` makes a context of its own
    assert sorted(path.name for path in (tmp_path / "frames").glob("*.png")) == ["frame-00000.png", "frame-00001.png"]
    egl = ctypes.CDLL("libEGL.so.1")
    egl.eglGetCurrentContext.restype = ctypes.c_void_p
    assert egl.eglGetCurrentContext() is None


def test_network_is_a_float64_forward(cli_run):
    run = ginn_gl.load(cli_run)
    points = np.random.default_rng(0).uniform(-0.5, 1.5, (500, 2))
    step = int(run.steps[57]) + 1  # between two snapshots: the newest at or before it
    net = run.network(step)
    assert net.step == run.steps[57]
    layers = []  # torch's own float64 layers, loaded from the run file's flat layout
    flat, offset = torch.tensor(run.weights[57], dtype=torch.float64), 0
    for n_in, n_out in zip(run.layers[:-1], run.layers[1:]):
        linear = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(flat[offset:offset + n_out * n_in].view(n_out, n_in))
            linear.bias.copy_(flat[offset + n_out * n_in:offset + n_out * (n_in + 1)])
        layers.append(linear)
        offset += n_out * (n_in + 1)
    h, pre = torch.tensor(points), []
    with torch.no_grad():
        for linear in layers[:-1]:
            pre.append(linear(h))
            h = torch.nn.functional.leaky_relu(pre[-1], 0.01)  # the run is leaky_relu
        logit = layers[-1](h)[:, 0]
    assert run.meta["activation"] == "leaky_relu"
    np.testing.assert_allclose(net.logit(points), logit.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(net(points), torch.sigmoid(logit).numpy(), rtol=0, atol=1e-12)
    for ours, theirs in zip(net.pre_activations(points), pre, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=1e-12)
    assert run.network().step == run.steps[-1] and run.network(snapshot=0).step == 0
    with pytest.raises(ValueError, match="xy"):
        net(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="snapshot"):
        run.network(snapshot=len(run))
    with pytest.raises(ValueError, match="step=-1 is before the first snapshot"):
        run.network(step=-1)
    assert run.network(step=10**9).step == run.steps[-1], "after the run's end: its last snapshot, as render's"


def test_save_export_and_the_notebook_picture(cli_run, tmp_path, cli):
    from PIL import Image

    run = ginn_gl.load(cli_run)
    saved = run.save(tmp_path / "copy")  # .npz is added, as save_run does
    assert saved == tmp_path / "copy.npz" and run.path == saved
    for name in ARRAYS:
        assert np.array_equal(getattr(ginn_gl.load(saved), name), getattr(run, name))
    with pytest.raises(ValueError, match="overwrite=True"):
        run.save(saved)
    with pytest.raises(ValueError, match="overwrite=True"):
        run.save(tmp_path / "copy")  # the name it would write is taken
    assert run.save(saved, overwrite=True) == saved

    result = cli("export", cli_run, "--out", tmp_path / "cli.gif", "--frames", "6", "--size", "48", "--view", "regions")
    assert result.returncode == 0, result.stderr
    out = run.export(tmp_path / "api.gif", frames=6, size=48, view="regions", progress=False)
    assert out.read_bytes() == (tmp_path / "cli.gif").read_bytes()
    with pytest.raises(ValueError, match="path"):
        run.export(tmp_path / "api.avi")

    picture = Image.open(__import__("io").BytesIO(run._repr_png_()))
    assert picture.size == (400, 400)
    assert np.array_equal(np.asarray(picture.convert("RGB")), run.render(size=400))
    assert "snapshots" in repr(run) and run.minibatch_loss.shape == run.minibatch_steps.shape
    with pytest.raises(ValueError):
        run.steps[0] = 1  # read-only: a run's arrays are its record


def test_load_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError):
        ginn_gl.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a usable ginn-gl run file"):
        ginn_gl.load(tmp_path / "bad.npz")


def test_ctrl_c_stops_training_saves_what_was_recorded_and_raises(tmp_path):
    import signal
    import subprocess
    import sys

    out = tmp_path / "stopped.npz"
    code = (f"import ginn_gl\ntry:\n    ginn_gl.train(image='circle', resolution=16, steps=10**7, out={str(out)!r})\n"
            "except KeyboardInterrupt:\n    print('interrupted', flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stderr.readline()  # the bar's first line: training runs
        assert "step" in line, line
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
    assert stdout == "interrupted\n", stderr
    assert "interrupted at step" in stderr and str(out) in stderr
    run = ginn_gl.load(out)
    assert run.meta["state"] == "stopped" and 0 < run.steps[-1] < 10**7


def test_the_bar_in_a_notebook_rewrites_its_line_with_padding_not_terminal_codes():
    import io

    from ginn_gl.api.progress import NotebookStream
    from ginn_gl.cli.progress import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(100, stream=NotebookStream(out))
    bar.update(50, 10.0, "loss 0.5000")
    bar.note("measuring")
    bar.update(100, 10.0, "loss 0.2500", final=True)
    text = out.getvalue()
    assert "\x1b" not in text and text.count("\r") == 3 and text.endswith("\n")
    first, second, third = text.split("\r")[1:]
    assert second.startswith("measuring") and len(second) == len(first)  # padded over the longer line
    assert "100/100" in third


def test_a_wide_picture_renders_as_the_command_renders_it(tmp_path, cli):
    from PIL import Image

    picture = tmp_path / "wide.png"  # 60 x 40: render's default keeps its proportions, so must the API's
    Image.fromarray(np.kron(np.eye(2, 3, dtype=np.uint8) * 255, np.ones((20, 20), np.uint8))).save(picture)
    run_path = tmp_path / "wide.npz"
    result = cli("train", "--image", picture, "--resolution", "30", "--steps", "40", "--out", run_path)
    assert result.returncode == 0, result.stderr
    for cli_view, api_view in (((), {}), (("--size", "50"), {"size": 50})):
        out = tmp_path / f"cli-{len(cli_view)}.png"
        assert cli("render", run_path, "--out", out, *cli_view).returncode == 0
        written = np.asarray(Image.open(out).convert("RGB"))
        assert np.array_equal(ginn_gl.load(run_path).render(**api_view), written), cli_view
