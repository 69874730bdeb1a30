"""Nothing lost: outputs checked before the work, runs that survive signals, collisions and failed
saves, atomic exports, one line for every bad input."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ginn_gl.core.outputs import partial_path, write_atomically
from ginn_gl.core.runfile import load_run, save_run
from tests.conftest import one_line_error
from tests.test_runfile import make_run

QUICK = ["--image", "circle", "--resolution", "24"]


def start_training(*args, cwd=None, env=None):
    """`ginn-gl train` in a subprocess, returned once its progress bar shows training runs."""
    proc = subprocess.Popen([sys.executable, "-m", "ginn_gl", "train", *QUICK, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    deadline, line = time.time() + 60, ""
    while "step" not in line and time.time() < deadline and proc.poll() is None:
        line = proc.stderr.readline()
    assert proc.poll() is None, proc.stderr.read()
    return proc


# ---- outputs are checked before any training ------------------------------------------------

@pytest.mark.parametrize("out,words", [
    ("", ["--out is empty"]),
    ("/", ["root folder"]),
    ("/etc/passwd/r.npz", ["/etc/passwd is a file", "folder"]),
    ("/proc/ginn-gl-test.npz", ["cannot write in /proc"]),
])
def test_an_unwritable_output_is_refused_before_training(cli, out, words):
    started = time.perf_counter()
    one_line_error(cli("train", *QUICK, "--steps", "100000000", "--out", out), *words)
    assert time.perf_counter() - started < 30, "refused at once, not after training"


def test_an_existing_output_needs_overwrite_and_a_folder_gets_a_default_name(cli, tmp_path):
    out = tmp_path / "run.npz"
    out.write_bytes(b"precious")
    one_line_error(cli("train", *QUICK, "--steps", "20", "--out", out), "exists", "--overwrite")
    assert out.read_bytes() == b"precious"
    assert cli("train", *QUICK, "--steps", "20", "--out", out, "--overwrite").returncode == 0
    assert load_run(out).steps[-1] == 20
    result = cli("train", *QUICK, "--steps", "20", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    written = [p for p in tmp_path.glob("circle-seed0-*.npz")]
    assert len(written) == 1 and f"saved {written[0]}" in result.stdout, "says where it wrote"


def test_two_runs_started_in_the_same_second_keep_both_files(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-m", "ginn_gl", "train", *QUICK, "--steps", "30"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outs
    files = sorted((tmp_path / "runs").glob("*.npz"))
    assert len(files) == 2 and all(load_run(f).steps[-1] == 30 for f in files)


def test_a_name_taken_meanwhile_is_never_overwritten(tmp_path):
    """Two windows with the same --save: the second close finds the file and takes the next name."""
    first = save_run(tmp_path / "same.npz", make_run(3))
    second = save_run(tmp_path / "same.npz", make_run(5))
    assert first == tmp_path / "same.npz" and second == tmp_path / "same-2.npz"
    assert len(load_run(first)) == 3 and len(load_run(second)) == 5
    assert save_run(tmp_path / "same.npz", make_run(7), overwrite=True) == first and len(load_run(first)) == 7


def test_a_failed_save_lands_in_a_fallback_named_in_one_line(tmp_path):
    folder, cwd = tmp_path / "gone", tmp_path / "cwd"
    cwd.mkdir()
    proc = start_training("--steps", "100000000", "--out", folder / "run.npz", cwd=cwd)
    time.sleep(0.5)
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    folder.write_text("now a file")  # the folder cannot be made again either
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    lines = [line for line in stderr.splitlines() if "error" in line]
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in stderr, stderr
    assert f"saved to {cwd / 'run.npz'}" in lines[0]
    assert load_run(cwd / "run.npz").meta["state"] == "stopped"


# ---- signals -------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_sigterm_and_sighup_save_the_run_whole_and_exit_128_plus_the_signal(tmp_path, sig):
    from tests.test_run_end import helpers

    mark = f"GINN_GL_TEST_MARK={time.time_ns()}"
    out = tmp_path / "signalled.npz"
    proc = start_training("--steps", "100000000", "--out", out, env={**os.environ, mark.split("=")[0]: mark})
    time.sleep(0.5)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig and "Traceback" not in stderr, stderr
    run = load_run(out)
    assert run.meta["state"] == "stopped" and run.steps[-1] == run.meta["steps_done"] > 0
    assert not helpers(mark), "the geometry helper ended with its trainer"


def test_a_second_ctrl_c_does_not_cut_the_save(tmp_path):
    out = tmp_path / "big.npz"  # a large network: its save takes a while
    proc = start_training("--layers", "64,64,64,64,64,64,64,64", "--steps", "100000000", "--out", out)
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    for _ in range(3):
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert load_run(out).meta["state"] == "stopped"
    assert sorted(os.listdir(tmp_path)) == ["big.npz"], "nothing half-written left"


# ---- atomic writes and temporary files ---------------------------------------------------------

def test_a_failing_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.gif"
    path.write_bytes(b"old")

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(path, broken, overwrite=True)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.gif"]


def test_one_temporary_name_per_output_and_the_umask_respected(tmp_path):
    stale = partial_path(tmp_path / "run.npz", pid=2**22 + 1)  # above any pid Linux gives: its writer is gone
    stale.write_bytes(b"left by a kill -9")
    busy = partial_path(tmp_path / "run.npz", pid=1)  # a running process's save: left alone
    busy.write_bytes(b"being written")
    old = os.umask(0o027)
    try:
        path = save_run(tmp_path / "run.npz", make_run(3))
    finally:
        os.umask(old)
    assert not stale.exists() and sorted(os.listdir(tmp_path)) == [busy.name, "run.npz"], \
        "the next save removes the leftover, never another running save's file"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_export_rounds_an_odd_mp4_size_and_refuses_what_it_cannot_write(cli, tmp_path):
    run = tmp_path / "run.npz"
    assert cli("train", *QUICK, "--steps", "30", "--out", run).returncode == 0
    mp4 = tmp_path / "x.mp4"
    result = cli("export", run, "--out", mp4, "--size", "65", "--frames", "3")
    assert result.returncode == 0, result.stderr
    assert "rounded up to 66" in result.stdout and "3 frames" in result.stdout
    import imageio.v2 as imageio

    reader = imageio.get_reader(mp4)
    assert reader.count_frames() == 3 and reader.get_meta_data()["size"] == (66, 66)
    one_line_error(cli("export", run, "--out", mp4, "--frames", "3"), "exists", "--overwrite")
    one_line_error(cli("export", run, "--out", "/dev/full", "--frames", "2"), "/dev/full")
    one_line_error(cli("export", run, "--out", "/proc/frames.gif", "--frames", "2"), "cannot write in /proc")
    one_line_error(cli("render", run, "--out", run / "x.png"), "is a file")
    assert sorted(os.listdir(tmp_path)) == ["run.npz", "x.mp4"]


# ---- bad input: one line, exit 2 ---------------------------------------------------------------

@pytest.mark.parametrize("args,words", [
    (["--seed", "18446744073709551616"], ["seed", "out of range"]),
    (["--seeds", "1,18446744073709551616"], ["seed", "out of range"]),
    (["--history-mb", "3000000"], ["--history-mb", "available"]),
    (["--image", ""], ["image name is empty"]),
    (["--lr", "1e308"], ["--lr", "up to"]),
])
def test_bad_training_values_are_one_line(cli, args, words, tmp_path):
    result = cli("train", "--steps", "10", "--out", tmp_path / "x.npz", *args)
    one_line_error(result, *words)
    assert "Warning" not in result.stderr


def test_huge_and_deep_images(tmp_path, cli):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = tmp_path / "bomb.png"  # a header claiming 30000 x 30000 pixels: refused before decoding
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))
    result = cli("train", "--image", bomb, "--steps", "10", "--out", tmp_path / "x.npz")
    one_line_error(result, "30000x30000", "million")
    assert "Warning" not in result.stderr


def test_images_of_every_depth_become_the_expected_target(tmp_path):
    from PIL import Image

    from ginn_gl.core.sources import load_target

    left_dark = np.zeros((16, 16), bool)
    left_dark[:, 8:] = True  # the expected target: right half white
    pictures = {
        "1-bit.png": Image.fromarray(left_dark),
        "8-bit.png": Image.fromarray(np.where(left_dark, 200, 60).astype(np.uint8)),
        "16-bit.png": Image.fromarray(np.where(left_dark, 40000, 200).astype(np.uint16)),  # 200 is 0.3% grey
        "palette.png": Image.fromarray(np.where(left_dark, 220, 30).astype(np.uint8)).convert("P"),
        "float.tiff": Image.fromarray(np.where(left_dark, 0.9, 0.1).astype(np.float32), mode="F"),
    }
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:, :8] = (0, 0, 0, 255)  # opaque black left, transparent right: the white page shows
    pictures["alpha.png"] = Image.fromarray(rgba, "RGBA")
    for name, picture in pictures.items():
        picture.save(tmp_path / name)
        target = load_target(str(tmp_path / name), 16).pixels
        np.testing.assert_array_equal(target, left_dark.astype(np.uint8), err_msg=name)
    white16 = np.where(left_dark, 65535, 40000).astype(np.uint16)  # only pure white is white
    Image.fromarray(white16).save(tmp_path / "white16.png")
    np.testing.assert_array_equal(load_target(str(tmp_path / "white16.png"), 16, "white").pixels,
                                  left_dark.astype(np.uint8))
