"""`ginn-gl train`, `info` and `images` through the real entry point."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from ginn_gl.core.runfile import load_run
from tests.conftest import one_line_error


def test_train_end_to_end_loss_falls(cli, tmp_path):
    out = tmp_path / "run.npz"
    result = cli("train", "--image", "circle", "--resolution", "48", "--steps", "3000", "--lr", "3e-3",
                 "--seed", "2", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout and "3,000 steps" in result.stdout
    bar_rate = re.findall(r"([\d,]+) steps/s", [line for line in result.stderr.splitlines() if "%" in line][-1])
    assert bar_rate and f"({bar_rate[0]} steps/s)" in result.stdout, "the bar ends on the summary's rate"
    run = load_run(out)
    assert run.meta["seed"] == 2 and run.meta["layers"] == [2, 16, 16, 16, 1]
    assert run.steps[0] == 0 and run.steps[-1] == 3000
    assert run.snap_loss[-1] < 0.6 * run.snap_loss[0]
    assert run.target.shape == (48, 48)
    info = cli("info", out, "--json")
    assert info.returncode == 0
    summary = json.loads(info.stdout)
    assert summary["last_step"] == 3000 and summary["snapshots"] == len(run)
    text = cli("info", out)
    assert "2 -> 16 -> 16 -> 16 -> 1" in text.stdout and "3,000 done (finished)" in text.stdout


def test_seeds_write_one_file_each(cli, tmp_path):
    result = cli("train", "--image", "rings", "--resolution", "24", "--steps", "300", "--seeds", "0,3",
                 "--out", tmp_path / "grid.npz")
    assert result.returncode == 0, result.stderr
    runs = [load_run(tmp_path / f"grid-seed{s}.npz") for s in (0, 3)]
    assert [r.meta["seed"] for r in runs] == [0, 3]
    assert not np.array_equal(runs[0].weights[0], runs[1].weights[0])


def test_images_lists_builtins(cli):
    result = cli("images")
    assert result.returncode == 0
    for name in ("bottle", "circle", "rings", "checker", "spiral"):
        assert name in result.stdout


def test_help_explains_every_option(cli):
    result = cli("train", "--help")
    for option in ("--image", "--resolution", "--layers", "--activation", "--seed", "--seeds", "--steps",
                   "--batch-size", "--lr", "--schedule", "--device", "--history-mb", "--out"):
        assert option in result.stdout
    assert cli("--help").returncode == 0


@pytest.mark.parametrize("args,words", [
    (["--image", "no/such/file.png"], ["not found", "no/such/file.png"]),
    (["--image", "bottel"], ["unknown image", "bottle"]),
    (["--layers", "0"], ["--layers", "16,16,16"]),
    (["--layers", "a,b"], ["--layers"]),
    (["--steps", "-1"], ["--steps", "at least 1"]),
    (["--lr", "nan"], ["--lr", "positive number"]),
    (["--lr", "-1"], ["--lr"]),
    (["--batch-size", "-5"], ["--batch-size"]),
    (["--resolution", "3"], ["--resolution"]),
    (["--seeds", "1,1"], ["--seeds"]),
    (["--steps", "ten"], ["--steps", "whole number", "0-9"]),
    (["--activation", "tanh"], ["--activation"]),
])
def test_bad_training_input(cli, args, words):
    one_line_error(cli("train", *args), *words)


def test_window_frame_limit_out_of_range(cli, tmp_path):
    one_line_error(cli("--fps", "0"), "--fps 0.0", "1 to 1000")
    one_line_error(cli("replay", tmp_path / "any.npz", "--fps", "5000"), "--fps 5000.0", "1 to 1000")


def test_unreadable_and_blank_images(cli, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    one_line_error(cli("train", "--image", bad), "cannot read")
    white = tmp_path / "white.png"
    Image.fromarray(np.full((5, 5), 255, np.uint8)).save(white)
    one_line_error(cli("train", "--image", white), "all white", "nothing to learn")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_without_cuda(cli):
    one_line_error(cli("train", "--device", "cuda"), "CUDA is not available", "--device cpu")


def test_corrupt_and_missing_run_files(cli, tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip")
    one_line_error(cli("info", corrupt), "not a usable ginn-gl run file")
    one_line_error(cli("info", tmp_path / "missing.npz"), "not found")


def test_diverging_training_keeps_its_history(cli, tmp_path):
    out = tmp_path / "diverged.npz"
    result = cli("train", "--image", "circle", "--resolution", "32", "--steps", "1000", "--lr", "1e9",
                 "--head", "sigmoid", "--schedule", "constant", "--out", out)
    assert result.returncode == 1
    assert "diverged at step 2" in result.stderr and "Traceback" not in result.stderr
    run = load_run(out)
    assert list(run.steps) == [0, 1] and run.meta["state"] == "diverged"


def test_ctrl_c_saves_what_was_recorded(tmp_path):
    out = tmp_path / "interrupted.npz"
    proc = subprocess.Popen([sys.executable, "-m", "ginn_gl", "train", "--image", "circle", "--resolution",
                             "32", "--steps", "100000000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        line = ""
        while "step" not in line and time.time() < deadline:  # the progress bar shows training runs
            line = proc.stderr.readline()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    run = load_run(out)
    assert run.meta["state"] == "stopped" and run.steps[-1] == run.meta["steps_done"] > 0
    assert os.listdir(tmp_path) == ["interrupted.npz"]


def test_ginn_sets_the_originals_setup_and_given_options_win(cli, tmp_path):
    out = tmp_path / "ginn.npz"
    result = cli("train", "--ginn", "--steps", "120", "--image", "circle", "--resolution", "24", "--out", out)
    assert result.returncode == 0, result.stderr
    meta = load_run(out).meta
    assert (meta["head"], meta["threshold"], meta["snapshots"], meta["schedule"]) == ("softmax2", "white", "ginn",
                                                                                      "cosine")
    assert meta["batch_size"] == 128 and meta["lr"] == 1e-3 and meta["steps"] == 120, "--steps given: it wins"
    run = load_run(out)
    np.testing.assert_array_equal(run.steps[:3], [0, 1, 2])
    assert 52 not in run.steps and 53 in run.steps, "the original's snapshots, shifted to optimiser steps"
    plain = tmp_path / "plain.npz"
    assert cli("train", "--steps", "60", "--image", "circle", "--resolution", "24", "--head", "sigmoid",
               "--out", plain).returncode == 0
    meta = load_run(plain).meta
    assert (meta["head"], meta["threshold"], meta["snapshots"]) == ("sigmoid", "mid", "geometric")


def test_info_names_the_picture_a_run_was_trained_on_from_anywhere(cli, tmp_path):
    import hashlib

    from PIL import Image

    picture = tmp_path / "pictures" / "half.png"
    picture.parent.mkdir()
    Image.fromarray(np.tile(np.repeat([0, 255], 8).astype(np.uint8), (16, 1))).save(picture)
    out = tmp_path / "run.npz"
    assert cli("train", "--image", "pictures/half.png", "--resolution", "16", "--steps", "3", "--out", out,
               cwd=tmp_path).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    text = cli("info", out, cwd=elsewhere).stdout
    assert str(picture.resolve()) in text and hashlib.sha256(picture.read_bytes()).hexdigest() in text
    meta = json.loads(cli("info", out, "--json").stdout)["meta"]
    assert meta["image"] == "pictures/half.png" and meta["image_source"] == str(picture.resolve())
