import json
import os
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
