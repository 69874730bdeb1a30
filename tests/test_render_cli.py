"""`ginn-gl render`: a run file to a PNG with no display."""

import os

import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.network import evaluate, grid_points
from ginn_gl.core.runfile import load_run
from tests.conftest import one_line_error


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    from tests.conftest import run_cli

    path = tmp_path_factory.mktemp("render") / "run.npz"
    result = run_cli("train", "--image", "rings", "--resolution", "40", "--steps", "1500", "--lr", "1e-2",
                     "--out", path)
    assert result.returncode == 0, result.stderr
    return path


def test_prediction_png_is_round_255_p_at_the_runs_resolution(cli, run_file, tmp_path, gl_context):
    out = tmp_path / "p.png"
    result = cli("render", run_file, "--out", out, "--size", "40", "--neurons", "none", "--no-output-boundary",
                 "--snapshot", "-1")
    assert result.returncode == 0, result.stderr
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    run = load_run(run_file)
    p = evaluate(run.weights[-1], run.layers, run.activation, grid_points(40, 40)).probability.reshape(40, 40)
    assert image.shape == (40, 40, 3)
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])
    assert np.abs(image[..., 0] - 255 * p).max() <= 1.0
    assert np.mean(image[..., 0] == np.round(255 * p)) > 0.999


def test_target_view_and_step_selection(cli, run_file, tmp_path, gl_context):
    run = load_run(run_file)
    out = tmp_path / "t.png"
    step = int(run.steps[10])
    result = cli("render", run_file, "--out", out, "--size", "40", "--view", "target", "--neurons", "none",
                 "--no-output-boundary",
                 "--step", step)
    assert result.returncode == 0, result.stderr
    assert f"step {step}" in result.stdout
    image = np.asarray(Image.open(out).convert("L"))
    assert np.array_equal(image, run.target * 255)
    gap = int(np.flatnonzero(np.diff(run.steps) > 1)[0])  # a step between two snapshots: the one in force then
    step, between = int(run.steps[gap]), int(run.steps[gap]) + 1
    result = cli("render", run_file, "--out", tmp_path / "between.png", "--size", "40", "--step", between)
    assert result.returncode == 0 and f"step {step:,} (the snapshot in force at step {between:,})" in result.stdout
    result = cli("render", run_file, "--out", tmp_path / "after.png", "--size", "40", "--step", 10**9)
    assert result.returncode == 0 and f"step {int(run.steps[-1]):,} (the snapshot in force at step" in result.stdout


def test_lines_domain_and_size(cli, run_file, tmp_path, gl_context):
    plain, lines = tmp_path / "plain.png", tmp_path / "lines.png"
    args = ["--size", "120x90", "--domain", "-0.5,-0.25,1.5,1.25"]
    assert cli("render", run_file, "--out", plain, "--neurons", "none", "--no-output-boundary", *args).returncode == 0
    result = cli("render", run_file, "--out", lines, "--neurons", "1:*,2:3", "--highlight", "3:0",
                 "--output-boundary", "--line-width", "2", *args)
    assert result.returncode == 0, result.stderr
    a, b = np.asarray(Image.open(plain)), np.asarray(Image.open(lines))
    assert a.shape == b.shape == (90, 120, 3)
    assert 0.02 < np.mean(np.any(a != b, axis=2)) < 0.9


@pytest.mark.parametrize("args,words", [
    (["--neurons", "4:0"], ["layer 4 does not exist"]),
    (["--neurons", "1:16"], ["layer 1 has neurons 0..15"]),
    (["--neurons", "x"], ["not L:I"]),
    (["--size", "big"], ["--size"]),
    (["--domain", "0,0,1"], ["--domain"]),
    (["--snapshot", "99999"], ["--snapshot", "out of range"]),
    (["--step", "-5"], ["--step -5", "before the first snapshot"]),
    (["--line-width", "0"], ["--line-width"]),
    (["--highlight", "1:*"], ["--highlight", "one neuron"]),
    (["--solo", "2:*"], ["--solo", "one neuron"]),
])
def test_bad_render_input(cli, run_file, tmp_path, args, words):
    one_line_error(cli("render", run_file, "--out", tmp_path / "x.png", *args), *words)


def test_missing_run_and_no_gl(cli, run_file, tmp_path):
    one_line_error(cli("render", tmp_path / "none.npz", "--out", tmp_path / "x.png"), "not found")
    env = {**os.environ, "__EGL_VENDOR_LIBRARY_FILENAMES": str(tmp_path / "no-vendor.json")}
    one_line_error(cli("render", run_file, "--out", tmp_path / "x.png", env=env), "no OpenGL", "EGL")


def test_contrast_stretch_spans_black_to_white_over_the_target(cli, run_file, tmp_path, gl_context):
    out = tmp_path / "stretch.png"
    result = cli("render", run_file, "--out", out, "--size", "40", "--neurons", "none", "--no-output-boundary",
                 "--snapshot", "3",
                 "--contrast", "stretch")
    assert result.returncode == 0, result.stderr
    grey = np.asarray(Image.open(out).convert("L")).astype(float)
    run = load_run(run_file)
    p = evaluate(run.weights[3], run.layers, run.activation, grid_points(40, 40)).probability.reshape(40, 40)
    assert p.max() - p.min() < 0.5, "an early snapshot: a narrow range of p"
    expected = 255 * (p - p.min()) / (p.max() - p.min())
    assert np.abs(grey - expected).max() <= 1.5 and grey.min() == 0 and grey.max() == 255



def test_solo_on_a_dead_or_always_on_neuron_says_why_it_has_no_line(cli, run_file, tmp_path, gl_context):
    from ginn_gl.core.selection import locate

    run = load_run(run_file)
    status = run.status[-1]
    for index in (int(np.flatnonzero(status <= 1)[0]), int(np.flatnonzero(status == 2)[0])):
        layer, neuron = locate(run.layers, index)
        result = cli("render", run_file, "--out", tmp_path / f"solo{index}.png", "--solo", f"{layer}:{neuron}")
        assert result.returncode == 0, result.stderr
        if status[index] == 2:
            assert "does not cross" not in result.stdout, "a switching neuron draws its line"
        else:
            state = ("dead", "always on")[status[index]]
            assert f"neuron {layer}:{neuron} is {state} at this step" in result.stdout, result.stdout
