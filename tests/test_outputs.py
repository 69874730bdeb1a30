"""Nothing lost, part 2: every path the program writes follows one set of rules, and no file it did not
write is ever changed. A table of defects by class, then a fuzz over every option that names a path."""

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ginn_gl.core.outputs import FRAMES_MANIFEST
from ginn_gl.core.runfile import load_run, save_run
from tests.conftest import one_line_error, run_cli
from tests.test_runfile import make_run

QUICK = ["--image", "circle", "--resolution", "16", "--steps", "3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("outputs") / "trained.npz"
    assert run_cli("train", *QUICK[:-1], "30", "--out", path).returncode == 0
    return path


def fingerprint(root: Path) -> dict[str, tuple[str, str]]:
    """Every entry under `root` (links not followed): its kind and its content's hash or target."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = ("link", os.readlink(path))
        elif path.is_file():
            found[key] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
        elif path.is_dir():
            found[key] = ("folder", "")
        else:
            found[key] = ("other", "")
    return found


# ---- 1. an output never removes or replaces what this program did not write -----------------------

def test_an_export_into_the_folder_of_its_inputs_deletes_nothing(trained, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    a, b = (save_run(runs / name, load_run(trained)) for name in ("A.npz", "B.npz"))
    (runs / "notes.txt").write_text("mine")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = fingerprint(tmp_path)
    one_line_error(run_cli("export", a, b, "--out", runs, "--overwrite"), "holds an input")
    one_line_error(run_cli("export", a, "--out", tmp_path, "--overwrite", cwd=runs), "current folder")
    for cwd in (runs, elsewhere):
        for name in (".", ".."):
            one_line_error(run_cli("export", a, "--out", name, "--overwrite", cwd=cwd), "current folder")
    assert fingerprint(tmp_path) == before


def test_a_frames_folder_loses_only_the_frames_an_export_wrote(trained, tmp_path):
    frames = tmp_path / "frames"
    assert run_cli("export", trained, "--out", frames, "--frames", "3", "--size", "16").returncode == 0
    assert sorted(p.name for p in frames.iterdir()) == [FRAMES_MANIFEST] + [f"frame-{i:05d}.png" for i in range(3)]
    one_line_error(run_cli("export", trained, "--out", frames, "--frames", "2", "--size", "16"), "--overwrite")
    result = run_cli("export", trained, "--out", frames, "--frames", "2", "--size", "16", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in frames.iterdir()) == [FRAMES_MANIFEST, "frame-00000.png", "frame-00001.png"]
    (frames / "notes.txt").write_text("my notes")
    before = fingerprint(tmp_path)
    one_line_error(run_cli("export", trained, "--out", frames, "--size", "16", "--overwrite"), "notes.txt")
    assert fingerprint(tmp_path) == before


def test_an_input_is_never_an_output(trained, tmp_path, display):
    run = tmp_path / "run.npz"
    run.write_bytes(trained.read_bytes())
    before = fingerprint(tmp_path)
    one_line_error(run_cli("replay", run, "--frame-log", run, "--overwrite"), "also an input")
    one_line_error(run_cli("replay", run, "--frame-log", run), "also an input")
    for args in (("render", run, "--out", run.with_suffix(".png"), "--size", "8"),):  # a different name: allowed
        assert run_cli(*args).returncode == 0
    assert fingerprint(tmp_path) == {**before, "run.png": fingerprint(tmp_path)["run.png"]}


# ---- 2. every path follows the --out rules ------------------------------------------------------

def test_render_into_a_folder_names_a_file_inside_and_refuses_devices(trained, tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    result = run_cli("render", trained, "--out", folder, "--size", "16")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in folder.iterdir()] == ["trained-step30.png"] and "trained-step30.png" in result.stdout
    assert run_cli("render", trained, "--out", folder, "--size", "16").returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == ["trained-step30-2.png", "trained-step30.png"], "never over"
    for device in ("/dev/full", "/dev/null"):
        one_line_error(run_cli("render", trained, "--out", device), device, "not a regular file")
    assert not Path("/dev/full.png").exists()


def test_a_fifo_is_refused_at_once_not_blocked_on(trained, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for args in (("render", trained, "--out", fifo, "--overwrite"), ("export", trained, "--out", fifo),
                 ("train", *QUICK, "--out", fifo, "--overwrite")):
        one_line_error(run_cli(*args, timeout=30), "not a regular file")


# ---- 3. a write error is one line and loses no run ----------------------------------------------

@contextlib.contextmanager
def small_filesystem(folder: Path, kilobytes: int, read_only: bool = False):
    """A tmpfs of `kilobytes` at `folder` (read-only after it is filled with one file), where mounting is
    allowed (root on Linux); else the test is skipped, in CI too: not every CI may mount."""
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        (folder / "user.txt").write_text("the user's own file")
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(trained, tmp_path):
    with small_filesystem(tmp_path / "full", 48) as full:
        before = fingerprint(full)
        for args in (("export", trained, "--out", full / "x.gif", "--size", "200", "--frames", "40"),
                     ("export", trained, "--out", full / "frames", "--size", "200", "--frames", "40"),
                     ("render", trained, "--out", full / "x.png", "--size", "1200")):
            result = run_cli(*args)
            assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
            assert "No space left" in result.stderr.strip().splitlines()[-1], "one line, after the progress bar"
            assert fingerprint(full) == before, "nothing left behind, nothing changed"
        out = full / "run.npz"  # a run whose place fills up goes to the current folder, named in one line
        result = run_cli("train", *QUICK[:-1], "2000", "--out", out, cwd=tmp_path)  # about 1 MB: it cannot fit
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"saved to {tmp_path / 'run.npz'}" in result.stderr and load_run(tmp_path / "run.npz")


def test_a_read_only_place_is_refused_before_the_work(trained, tmp_path, display):
    with small_filesystem(tmp_path / "ro", 64, read_only=True) as ro:
        before = fingerprint(ro)
        for args, option in ((("render", trained, "--out", ro / "x.png"), "--out"),
                             (("export", trained, "--out", ro / "frames"), "--out"),
                             (("train", *QUICK, "--out", ro / "x.npz"), "--out"),
                             (("replay", trained, "--frame-log", ro / "log.jsonl"), "--frame-log")):
            one_line_error(run_cli(*args), option, "Read-only")
        assert fingerprint(ro) == before


# ---- 4. any failure inside the window saves the run first ----------------------------------------

FAILING_WINDOW = """
import sys
from ginn_gl.ui import app
frame, count = app.App.frame, [0]
def failing(self, *args, **kwargs):
    count[0] += 1
    if count[0] == 40:
        raise RuntimeError("a failure inside the window")
    return frame(self, *args, **kwargs)
app.App.frame = failing
from ginn_gl.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_a_failure_inside_the_window_saves_the_run_and_logs_the_traceback(tmp_path, display):
    out = tmp_path / "live.npz"
    result = subprocess.run([sys.executable, "-c", FAILING_WINDOW, "--seed", str(2**63 + 5), "--image", "circle",
                             "--resolution", "32", "--steps", "100000000", "--save", str(out)],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "a failure inside the window" in errors[0] and f"the runs are saved ({out})" in errors[0]
    run = load_run(out)
    assert run.meta["seed"] == 2**63 + 5 and run.steps[-1] > 0, "a seed past 2^31 works in the panel too"
    logs = list(tmp_path.glob("ginn-gl-error-*.log"))
    assert len(logs) == 1 and logs[0].name in errors[0]
    assert "RuntimeError: a failure inside the window" in logs[0].read_text()


def test_a_frame_log_on_a_full_disk_stops_the_log_not_the_window(tmp_path, display):
    with small_filesystem(tmp_path / "full", 16) as full:
        out = tmp_path / "live.npz"
        proc = subprocess.Popen([sys.executable, "-m", "ginn_gl", "--image", "circle", "--resolution", "32",
                                 "--steps", "100000000", "--save", str(out), "--frame-log", str(full / "log.jsonl")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        assert "training seed" in proc.stdout.readline()
        deadline = __import__("time").perf_counter() + 60
        while "frame log" not in (line := proc.stderr.readline()):
            assert line and __import__("time").perf_counter() < deadline, "the log fills the disk and says so"
        from tests.conftest import close_window

        assert close_window(display, "ginn-gl: circle")
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in stderr, stderr
        assert load_run(out).steps[-1] > 0


def test_the_frame_log_replaces_a_link_and_never_writes_through_it(tmp_path):
    from ginn_gl.ui.framelog import FrameLog

    users = tmp_path / "users-file.txt"
    users.write_text("the user's own file")
    link = tmp_path / "log.jsonl"
    link.symlink_to(users)
    log = FrameLog(link, overwrite=True)  # checked as an output before: --overwrite was given
    log.write(step=1)
    log.close()
    assert users.read_text() == "the user's own file" and not link.is_symlink()
    assert json.loads(link.read_text()) == {"step": 1} and sorted(p.name for p in tmp_path.iterdir()) == \
        ["log.jsonl", "users-file.txt"], "no temporary name left behind"
    taken = tmp_path / "taken.jsonl"  # without --overwrite a name taken since the check is never replaced
    taken.write_text("arrived meanwhile")
    log = FrameLog(taken)
    log.close()
    assert taken.read_text() == "arrived meanwhile" and log.path == tmp_path / "taken-2.jsonl"


# ---- 5, 6. hostile run files get one line; info --json is strict JSON ---------------------------

def hostile(tmp_path: Path, **meta) -> Path:
    run = make_run(4)
    run.meta.update(meta)
    path = tmp_path / f"hostile-{uuid.uuid4().hex[:6]}.npz"
    np.savez(path, format=np.array("ginn-run/1"), meta=np.array(json.dumps(run.meta)),
             **{key: getattr(run, key) for key in ("steps", "weights", "snap_loss", "loss_steps", "loss", "target")})
    return path


def test_hostile_meta_gets_one_line_everywhere(tmp_path):
    deep = tmp_path / "deep.npz"
    run = make_run(4)
    text = json.dumps(run.meta)[:-1] + ', "unknown": ' + "[" * 100_000 + "]" * 100_000 + "}"
    np.savez(deep, format=np.array("ginn-run/1"), meta=np.array(text),
             **{key: getattr(run, key) for key in ("steps", "weights", "snap_loss", "loss_steps", "loss", "target")})
    for command in (("info", deep), ("render", deep, "--out", tmp_path / "x.png"),
                    ("export", deep, "--out", tmp_path / "x.gif")):
        one_line_error(run_cli(*command), "nested too deeply")
    for field in ("threshold", "snapshots", "schedule"):
        one_line_error(run_cli("info", hostile(tmp_path, **{field: "\x1b[31mred\x07"})), field)
    odd = hostile(tmp_path, image="\ud800 \x1b]0;title\x07\r\x00", device="\x1b[2J", message="\x1b[5m")
    for env in ({}, {"PYTHONIOENCODING": "ascii"}):
        result = run_cli("info", odd, env={**os.environ, **env})
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert not any(ch in result.stdout for ch in "\x1b\x07\r\x00"), "control characters escaped"
        assert "\\ud800" in result.stdout


def test_info_json_is_strict_json(trained, tmp_path):
    run = load_run(trained)
    run.density[:] = np.nan  # not measured: NaN in the file, null in the JSON
    path = save_run(tmp_path / "nan.npz", run)

    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")

    for file in (trained, path):
        result = run_cli("info", file, "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout, parse_constant=refuse)
        assert summary["snapshots"] == len(run)


# ---- 7. lists parse strictly; an export onto a plain file fails before drawing -------------------

@pytest.mark.parametrize("args", [("--seeds", "1,,2"), ("--seeds", "1_000"), ("--seeds", "١,٢"), ("--layers", "16,,16"),
                                  ("--seed", "1_000"), ("--seed", "٣"), ("--steps", "1e3")])
def test_lists_and_numbers_parse_strictly(args, tmp_path):
    one_line_error(run_cli("train", "--out", tmp_path / "x.npz", *args), args[0], "0-9")


def test_an_export_onto_a_plain_file_fails_before_drawing(trained, tmp_path):
    plain = tmp_path / "notes"
    plain.write_text("mine")
    result = run_cli("export", trained, "--out", plain, "--overwrite", "--frames", "all", "--size", "600")
    one_line_error(result, "is a file, not a folder")
    assert plain.read_text() == "mine" and "frame" not in result.stdout


# ---- the fuzz: every option that names a path, over every kind of thing found there -------------

def kinds(root: Path, run: Path, suffix: str) -> dict[str, Path]:
    """What may lie where an output goes (named with `suffix`), each made fresh under `root`."""
    root.mkdir(exist_ok=True)
    user = root / "users-file.txt"
    user.write_text("the user's own file")
    made = {"missing": root / f"new-output{suffix}"}
    (root / f"a-file{suffix}").write_text("precious")
    made["a file"] = root / f"a-file{suffix}"
    (root / f"link{suffix}").symlink_to(user)
    made["a link to the user's file"] = root / f"link{suffix}"
    (root / f"dangling{suffix}").symlink_to(root / "nowhere")
    made["a dangling link"] = root / f"dangling{suffix}"
    (root / f"empty{suffix}").mkdir()
    made["an empty folder"] = root / f"empty{suffix}"
    (root / f"foreign{suffix}").mkdir()
    (root / f"foreign{suffix}" / "notes.txt").write_text("notes")
    made["a folder with the user's files"] = root / f"foreign{suffix}"
    os.mkfifo(root / f"fifo{suffix}")
    made["a FIFO"] = root / f"fifo{suffix}"
    if not suffix:  # devices have the names they have
        made["/dev/null"] = Path("/dev/null")
        made["/dev/full"] = Path("/dev/full")
    made["the input run"] = run
    return made


COMMANDS = {  # an option that names a path: the command line before it, and the suffix its names take
    "train --out": (("train", *QUICK, "--out"), ""),
    "render --out": (("render", "RUN", "--size", "16", "--out"), ".png"),
    "render --out (no suffix)": (("render", "RUN", "--size", "16", "--out"), ""),
    "export --out (gif)": (("export", "RUN", "--size", "16", "--frames", "2", "--out"), ".gif"),
    "export --out (folder)": (("export", "RUN", "--size", "16", "--frames", "2", "--out"), ""),
    # The window's outputs, where no display lets it open: checked before it would, and left alone.
    "live --save": (("--image", "circle", "--resolution", "16", "--save"), ".npz"),
    "live --frame-log": (("--image", "circle", "--resolution", "16", "--frame-log"), ".jsonl"),
    "replay --frame-log": (("replay", "RUN", "--frame-log"), ".jsonl"),
}
WINDOWS = {command for command in COMMANDS if command.startswith(("live", "replay"))}
NO_DISPLAY = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}


def test_no_option_that_names_a_path_changes_a_file_it_did_not_write(trained, tmp_path):
    """The closing note's counts come from here: cases tried, tracebacks, files changed that were not ours."""
    probe = tmp_path / "probe"
    probe.mkdir()
    cases = [(command, kind, overwrite) for command, (_, suffix) in COMMANDS.items()
             for kind in kinds(probe / uuid.uuid4().hex[:8], trained, suffix) for overwrite in (False, True)]
    problems = []

    def one(case):
        command, kind, overwrite = case
        before_args, suffix = COMMANDS[command]
        option = before_args[-1]
        root = tmp_path / uuid.uuid4().hex[:8]
        root.mkdir()
        run = root / "input.npz"
        run.write_bytes(trained.read_bytes())
        path = kinds(root, run, suffix)[kind]
        args = [str(run) if a == "RUN" else a for a in before_args] + [str(path)]
        before = fingerprint(root)
        result = run_cli(*args, *(["--overwrite"] if overwrite else []), timeout=90, cwd=root,
                         env=NO_DISPLAY if command in WINDOWS else None)
        after = fingerprint(root)
        # The one entry an --overwrite may replace: the output's own name, a file or a link (never its target).
        own = ("a file", "a link to the user's file", "a dangling link") + (("the input run",) if command.startswith(
            ("train", "live")) else ())  # train and live read no run: that file is any other file to them
        replaceable = {str(path.relative_to(root))} if overwrite and kind in own else set()
        changed = sorted(key for key in before if before[key] != after.get(key) and key not in replaceable)
        leftovers = [key for key in after if ".partial-" in key]
        clean = result.returncode in (0, 2) and "Traceback" not in result.stderr and \
            (result.returncode == 0 or len(result.stderr.strip().splitlines()) == 1)
        # Where no window can open, a place the option refuses must be refused by the option's own check,
        # before the display's: else the window's cases would pass with that check gone.
        refused = kind in ("a FIFO", "/dev/null", "/dev/full") or (not overwrite and kind in own) or \
            (kind == "the input run" and kind not in own)
        if command in WINDOWS and refused and ("no display" in result.stderr or option not in result.stderr):
            clean = False
        if changed or leftovers or not clean:
            problems.append((case, changed, leftovers, result.returncode, result.stderr[-300:]))

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, cases))
    print(f"{len(cases)} cases tried, {len(problems)} problems")
    assert len(cases) >= 140 and not problems, problems[:5]
