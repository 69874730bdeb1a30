import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from ginn_gl.core.errors import RunFileError
from ginn_gl.core.network import parameter_count
from ginn_gl.core.runfile import FORMAT, REQUIRED_META, Run, load_run, save_run


def make_run(n=5, sizes=(2, 4, 1)):
    sizes = list(sizes)
    rng = np.random.default_rng(0)
    meta = {key: None for key in REQUIRED_META}
    meta.update(layers=sizes, activation="relu", seed=1, image="circle", resolution=8,
                batch_size=128, lr=1e-3, schedule="cosine", steps=n - 1, device="cpu",
                torch_version="x", created="now")
    return Run(meta=meta, steps=np.arange(n, dtype=np.int64),
               weights=rng.normal(size=(n, parameter_count(sizes))).astype(np.float32),
               snap_loss=np.linspace(0.7, 0.1, n).astype(np.float32),
               loss_steps=np.arange(1, n, dtype=np.int64), loss=np.ones(n - 1, np.float32),
               target=(rng.random((8, 8)) > 0.5).astype(np.uint8))


def test_round_trip(tmp_path):
    run = make_run()
    path = save_run(tmp_path / "run.npz", run)
    back = load_run(path)
    assert back.meta == run.meta
    for key in ("steps", "weights", "snap_loss", "loss_steps", "loss", "target"):
        np.testing.assert_array_equal(getattr(back, key), getattr(run, key))
        assert getattr(back, key).dtype == getattr(run, key).dtype
    with np.load(path, allow_pickle=False) as data:  # what any numpy program sees
        assert str(data["format"]) == FORMAT
        assert json.loads(str(data["meta"]))["layers"] == [2, 4, 1]
        assert data["weights"].dtype == np.float32 and data["steps"].dtype == np.int64


def test_write_is_atomic(tmp_path, monkeypatch):
    path = save_run(tmp_path / "run.npz", make_run(3))
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError):
        save_run(path, make_run(7))
    assert path.read_bytes() == before, "a failed write leaves the old file whole"
    assert sorted(os.listdir(tmp_path)) == ["run.npz"], "no temporary file is left behind"


def test_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    run = make_run()
    arrays = {k: getattr(run, k) for k in ("steps", "weights", "snap_loss", "loss_steps", "loss", "target")}
    np.savez(path, format=np.array(FORMAT), meta=np.array({"layers": [2, 4, 1]}, dtype=object), **arrays)
    with pytest.raises(RunFileError, match="pickled"):
        load_run(path)


def test_refuses_truncated_foreign_and_incomplete_files(tmp_path):
    good = save_run(tmp_path / "good.npz", make_run())
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(RunFileError, match="truncated|not an .npz"):
        load_run(truncated)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(RunFileError):
        load_run(text)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, format=np.array("other-tool/3"), meta=np.array("{}"))
    with pytest.raises(RunFileError, match="other-tool/3"):
        load_run(foreign)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(RunFileError, match="no 'format'"):
        load_run(plain)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "partial.npz", "w") as zout:
        for item in zin.infolist():
            if item.filename != "weights.npy":
                zout.writestr(item, zin.read(item.filename))
    with pytest.raises(RunFileError, match="lacks weights"):
        load_run(tmp_path / "partial.npz")
    with pytest.raises(RunFileError, match="not found"):
        load_run(tmp_path / "missing.npz")


def test_refuses_inconsistent_contents(tmp_path):
    run = make_run()
    run.steps = run.steps[::-1].copy()
    with pytest.raises(RunFileError, match="increasing"):
        save_run(tmp_path / "x.npz", run)
    run = make_run()
    run.weights = run.weights[:, :-1].copy()
    with pytest.raises(RunFileError, match="weights"):
        save_run(tmp_path / "x.npz", run)
    run = make_run(sizes=(2, 1))  # no hidden layer: no config makes one, and nothing draws it
    with pytest.raises(RunFileError, match="hidden layers"):
        save_run(tmp_path / "x.npz", run)


# ---- a stranger's file ----------------------------------------------------------------------------

def write_entries(path, entries):
    """An .npz with exactly these entries (name -> array), as numpy writes them."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in entries.items():
            with archive.open(f"{name}.npy", "w") as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)


def entries_of(run):
    return {"format": np.array(FORMAT), "meta": np.array(json.dumps(run.meta)), "steps": run.steps,
            "weights": run.weights, "snap_loss": run.snap_loss, "loss_steps": run.loss_steps, "loss": run.loss,
            "target": run.target}


@pytest.mark.parametrize("change,words", [
    (lambda m: m.update(lr="fast"), "'lr' is str"),
    (lambda m: m.update(steps="100"), "'steps' is str"),
    (lambda m: m.update(seed={"a": 1}), "'seed' is dict"),
    (lambda m: m.update(layers=[2, 1]), "not 2 inputs"),
    (lambda m: m.update(layers=[2, 1000, 1]), "larger than ginn-gl trains"),
    (lambda m: m.update(image="\x1b]0;owned\x07\x1b[2J"), None),
])
def test_meta_is_checked_and_its_text_escaped(tmp_path, cli, change, words):
    run = make_run()
    change(run.meta)
    path = tmp_path / "stranger.npz"
    write_entries(path, entries_of(run))
    result = cli("info", path)
    if words is None:  # a valid file whose text would drive the terminal: printed escaped
        assert result.returncode == 0 and "\x1b" not in result.stdout and "\\x1b" in result.stdout
    else:
        from tests.conftest import one_line_error

        one_line_error(result, "not a usable ginn-gl run file", words)


def test_files_that_are_not_run_files(tmp_path):
    npy = tmp_path / "plain.npz"
    np.save(tmp_path / "plain.npy", np.zeros(3))
    (tmp_path / "plain.npy").rename(npy)
    noise = tmp_path / "noise.npz"
    noise.write_bytes(np.random.default_rng(0).bytes(5000))
    texts = tmp_path / "texts.npz"
    with zipfile.ZipFile(texts, "w") as archive:
        archive.writestr("readme.txt", "hello")
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    nan = tmp_path / "nan.npz"
    run = make_run()
    run.weights[2, 3] = np.nan
    write_entries(nan, entries_of(run))
    for path, words in ((npy, "not an .npz archive"), (noise, "not an .npz archive"), (texts, "no 'format'"),
                        (fifo, "not a regular file"), (nan, "NaN")):
        with pytest.raises(RunFileError, match=words):
            load_run(path)


def test_an_inflating_entry_is_refused_before_it_is_read(tmp_path):
    """A 2 GB weights entry deflated to a few MB: refused from its header, with a small peak memory."""
    run = make_run(sizes=(2, 16, 16, 16, 1))
    bomb = tmp_path / "bomb.npz"
    entries = entries_of(run)
    del entries["weights"]
    write_entries(bomb, entries)
    count = 2**31 // (4 * 609)
    header = {"descr": "<f4", "fortran_order": False, "shape": (count, 609)}
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("weights.npy", "w", force_zip64=True) as handle:
            np.lib.format.write_array_header_1_0(handle, header)
            zeros = bytes(1 << 24)
            for _ in range(count * 609 * 4 // len(zeros)):
                handle.write(zeros)
    assert bomb.stat().st_size < 10 * 2**20
    code = ("import sys\nfrom ginn_gl.core.runfile import load_run\n"
            "try:\n    load_run(sys.argv[1])\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    result = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=120)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("RunFileError") and "more than this run can hold" in lines[0], result.stdout
    assert int(lines[-1]) < 300_000, f"peak RSS {int(lines[-1]) // 1024} MB"  # VmHWM: this process's own peak


def test_mutated_run_files_load_or_are_refused_in_one_line(tmp_path):
    """A few hundred damaged files: truncated, bytes flipped, entries dropped, swapped or retyped.
    Each loads whole or raises the error the CLI prints as one line; nothing else escapes."""
    from ginn_gl.core.errors import UserError

    rng = np.random.default_rng(1)
    good = save_run(tmp_path / "good.npz", make_run(6, sizes=(2, 5, 3, 1)))
    data = good.read_bytes()
    run = make_run(6, sizes=(2, 5, 3, 1))
    mutants = []
    for k in range(120):  # truncated and flipped bytes
        cut = bytearray(data[:int(rng.integers(1, len(data)))]) if k % 2 else bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            if cut:
                cut[int(rng.integers(len(cut)))] ^= 1 << int(rng.integers(8))
        mutants.append(bytes(cut))
    names = list(entries_of(run))
    for k in range(120):  # entries dropped, swapped, retyped or reshaped
        entries = entries_of(run)
        kind = k % 4
        a, b = rng.choice(names, 2, replace=False)
        if kind == 0:
            del entries[a]
        elif kind == 1:
            entries[a], entries[b] = entries[b], entries[a]
        elif kind == 2:
            value = np.asarray(entries[a])
            entries[a] = value.astype("<U3") if value.dtype.kind == "U" else value.astype(
                rng.choice(["<f8", "<i4", "<U3", "|u1"]))
        else:
            entries[a] = np.asarray(entries[a]).reshape(-1)[: int(rng.integers(0, 5))]
        path = tmp_path / f"m{k}.npz"
        write_entries(path, entries)
        mutants.append(path.read_bytes())
    loaded = refused = 0
    for k, content in enumerate(mutants):
        path = tmp_path / f"mutant{k}.npz"
        path.write_bytes(content)
        try:
            load_run(path)
            loaded += 1
        except UserError as exc:
            assert "\n" not in str(exc)
            refused += 1
    assert loaded + refused == len(mutants) == 240 and refused > 200
