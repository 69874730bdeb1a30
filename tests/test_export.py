"""`ginn-gl export`: a run's history as GIF, MP4 or PNG frames, with no display."""

import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.network import evaluate, grid_points
from ginn_gl.core.runfile import load_run
from tests.conftest import one_line_error


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    from tests.conftest import run_cli

    path = tmp_path_factory.mktemp("export") / "run.npz"
    result = run_cli("train", "--image", "circle", "--resolution", "32", "--steps", "300", "--out", path)
    assert result.returncode == 0, result.stderr
    return path


def test_folder_of_pngs_shows_each_snapshot(cli, run_file, tmp_path, gl_context):
    out = tmp_path / "frames"
    result = cli("export", run_file, "--out", out, "--frames", "4", "--size", "48", "--neurons", "none",
                 "--no-output-boundary", "--no-label")
    assert result.returncode == 0, result.stderr
    files = sorted(out.glob("frame-*.png"))
    assert len(files) == 4
    run = load_run(run_file)
    for path, index in zip(files, np.linspace(0, len(run) - 1, 4).round().astype(int)):
        grey = np.asarray(Image.open(path).convert("L")).astype(float)
        p = evaluate(run.weights[index], run.layers, run.activation, grid_points(48, 48)).probability
        assert np.abs(grey - 255 * p.reshape(48, 48)).max() <= 1.0


def test_gif_and_mp4(cli, run_file, tmp_path, gl_context):
    gif = tmp_path / "history.gif"
    assert cli("export", run_file, "--out", gif, "--frames", "12", "--size", "64").returncode == 0
    assert Image.open(gif).n_frames == 12
    mp4 = tmp_path / "history.mp4"
    result = cli("export", run_file, "--out", mp4, "--size", "64", "--fps", "24")
    assert result.returncode == 0, result.stderr
    import imageio.v2 as imageio

    reader = imageio.get_reader(mp4)
    assert reader.count_frames() == len(load_run(run_file)) and reader.get_meta_data()["size"] == (64, 64)


def test_bad_export_input(cli, run_file, tmp_path):
    one_line_error(cli("export", run_file, "--out", tmp_path / "x.avi"), "unknown kind of output")
    one_line_error(cli("export", run_file, "--out", tmp_path / "x.gif", "--size", "30x40"), "square")
    one_line_error(cli("export", run_file, "--out", tmp_path / "x.gif", "--frames", "0"), "--frames")
