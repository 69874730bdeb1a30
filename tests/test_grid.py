"""Runs side by side, headless: `export A B` and `render A B` draw a grid whose cells are the
single-run pictures at the same step, byte for byte."""

import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.runfile import load_run
from ginn_gl.core.view import grid_shape
from ginn_gl.render.export import grid_steps, pick_steps, snapshot_at
from tests.conftest import one_line_error

SIZE = 40


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeds trained together (same snapshot steps), and a shorter run of the same target size."""
    from tests.conftest import run_cli

    folder = tmp_path_factory.mktemp("grid")
    result = run_cli("train", "--image", "circle", "--resolution", "32", "--steps", "300", "--seeds", "3,4",
                     "--out", folder / "pair")
    assert result.returncode == 0, result.stderr
    result = run_cli("train", "--image", "rings", "--resolution", "32", "--steps", "233", "--seed", "5",
                     "--batch-size", "0", "--out", folder / "short.npz")
    assert result.returncode == 0, result.stderr
    return folder / "pair-seed3.npz", folder / "pair-seed4.npz", folder / "short.npz"


def frames_in(folder):
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("frame-*.png"))]


def cells(frame, count, size=SIZE):
    columns, rows = grid_shape(count)
    assert frame.shape == (rows * size, columns * size, 3)
    return [frame[k // columns * size:(k // columns + 1) * size, k % columns * size:(k % columns + 1) * size]
            for k in range(count)]


def test_a_grid_export_is_the_single_run_exports_side_by_side(cli, runs, tmp_path, gl_context):
    a, b, _ = runs
    for name, paths in (("a", [a]), ("b", [b]), ("grid", [a, b])):
        result = cli("export", *paths, "--out", tmp_path / name, "--frames", "6", "--size", SIZE, "--no-label")
        assert result.returncode == 0, result.stderr
    single_a, single_b, grid = (frames_in(tmp_path / name) for name in ("a", "b", "grid"))
    assert len(grid) == len(single_a) == len(single_b) == 6
    for frame, left, right in zip(grid, single_a, single_b):
        cell_a, cell_b = cells(frame, 2)
        assert np.array_equal(cell_a, left) and np.array_equal(cell_b, right)
    assert not np.array_equal(grid[-1][:, :SIZE], grid[-1][:, SIZE:]), "two seeds, two pictures"

    # Labelled: each cell names its run; below the label the bytes are the same.
    size = 240  # room for the loss in the label
    for name, paths in (("la", [a]), ("lgrid", [a, b])):
        result = cli("export", *paths, "--out", tmp_path / name, "--frames", "2", "--size", size, "--neurons", "none")
        assert result.returncode == 0, result.stderr
    labelled, single = frames_in(tmp_path / "lgrid"), frames_in(tmp_path / "la")
    for frame, alone in zip(labelled, single):
        cell = cells(frame, 2, size)[0]
        assert np.array_equal(cell[24:], alone[24:])
        assert not np.array_equal(cell[:24], alone[:24]), "the grid's label names the run"


def test_a_grid_shows_each_run_at_its_newest_snapshot_at_or_before_the_step(cli, runs, tmp_path, gl_context):
    a, _, short = runs
    run_a, run_short = load_run(a), load_run(short)
    steps = grid_steps([run_a, run_short])
    assert set(run_a.steps) | set(run_short.steps) == set(steps) and len(steps) > len(run_a)
    assert pick_steps(steps, 4)[0] == 0 and pick_steps(steps, 4)[-1] == 300

    step = 250  # past the short run's end (233): it shows its last snapshot
    grid = tmp_path / "grid.png"
    result = cli("render", a, short, "--out", grid, "--step", step, "--size", SIZE, "--no-label")
    assert result.returncode == 0, result.stderr
    assert "at step 250" in result.stdout
    cell_a, cell_short = cells(np.asarray(Image.open(grid).convert("RGB")), 2)
    for path, run, cell in ((a, run_a, cell_a), (short, run_short, cell_short)):
        shown = int(run.steps[snapshot_at(run, step)])
        assert shown <= step and (shown == run.steps[-1] or run.steps[snapshot_at(run, step) + 1] > step)
        alone = tmp_path / f"alone-{shown}.png"
        assert cli("render", path, "--out", alone, "--step", shown, "--size", SIZE).returncode == 0
        assert np.array_equal(cell, np.asarray(Image.open(alone).convert("RGB")))


def test_runs_of_different_sizes_are_refused_in_one_line(cli, runs, tmp_path):
    from tests.conftest import run_cli

    other = tmp_path / "other.npz"
    assert run_cli("train", "--image", "circle", "--resolution", "24", "--steps", "20", "--out", other).returncode == 0
    a = runs[0]
    for command in (("replay", a, other), ("render", a, other, "--out", tmp_path / "x.png"),
                    ("export", a, other, "--out", tmp_path / "x.gif")):
        one_line_error(cli(*command), "different target sizes", "32x32", "24x24")
    one_line_error(cli("render", a, runs[1], "--out", tmp_path / "y.png", "--snapshot", "3"), "--step")
    one_line_error(cli("render", a, runs[1], "--out", tmp_path / "y.png", "--size", "40x30"), "square")
    one_line_error(cli("replay", *[a] * 10), "1 to 9")
    one_line_error(cli("--seeds", ",".join(map(str, range(10)))), "at most 9")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.gif").exists()
