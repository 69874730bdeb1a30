"""The run file: a numpy .npz (no pickle) holding a whole training history.

Contract (other tools read it): `format` = "ginn-run/1"; `meta` = a JSON string; `steps` int64 [S]
strictly increasing; `weights` float32 [S, P] (per layer W (out, in) row-major, then b);
`snap_loss` float32 [S]; `loss_steps` int64 [L] and `loss` float32 [L]; `target` uint8 [H, W].
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ginn_gl.core.errors import RunFileError
from ginn_gl.core.network import ACTIVATIONS, INPUTS, OUTPUTS, parameter_count

FORMAT = "ginn-run/1"
REQUIRED_META = ("layers", "activation", "seed", "image", "resolution", "batch_size", "lr",
                 "schedule", "steps", "device", "torch_version", "created")
ARRAYS = {  # name -> (dtype, ndim)
    "steps": (np.int64, 1),
    "weights": (np.float32, 2),
    "snap_loss": (np.float32, 1),
    "loss_steps": (np.int64, 1),
    "loss": (np.float32, 1),
    "target": (np.uint8, 2),
}


@dataclass
class Run:
    meta: dict
    steps: np.ndarray
    weights: np.ndarray
    snap_loss: np.ndarray
    loss_steps: np.ndarray
    loss: np.ndarray
    target: np.ndarray
    path: Path | None = field(default=None, compare=False)

    @property
    def layers(self) -> list[int]:
        return [int(n) for n in self.meta["layers"]]

    @property
    def activation(self) -> str:
        return str(self.meta["activation"])

    def __len__(self) -> int:
        return len(self.steps)


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def save_run(path: str | os.PathLike, run: Run) -> Path:
    """Write atomically: a temporary file in the same folder, then a rename over `path`."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # numpy would append it anyway
    path.parent.mkdir(parents=True, exist_ok=True)
    validate(run, str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".npz.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, format=np.array(FORMAT), meta=np.array(json.dumps(run.meta)),
                     steps=run.steps.astype(np.int64), weights=run.weights.astype(np.float32),
                     snap_loss=run.snap_loss.astype(np.float32),
                     loss_steps=run.loss_steps.astype(np.int64), loss=run.loss.astype(np.float32),
                     target=run.target.astype(np.uint8))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _bad(path: str, why: str) -> RunFileError:
    return RunFileError(f"{path} is not a usable ginn-gl run file: {why}; "
                        "give a .npz written by `ginn-gl train` or the window")


def load_run(path: str | os.PathLike) -> Run:
    """Read and check a run file; never unpickles (a stranger's file cannot run code)."""
    name = str(path)
    if not Path(path).exists():
        raise RunFileError(f"run file not found: {name}; give the path of a .npz written by "
                           "`ginn-gl train` or the window")
    if Path(path).is_dir():
        raise RunFileError(f"{name} is a folder; give the path of a run file (.npz)")
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            if "format" not in names:
                raise _bad(name, "it has no 'format' entry")
            fmt = data["format"]
            if fmt.dtype.kind != "U" or fmt.shape != ():
                raise _bad(name, "its 'format' entry is not a string")
            if str(fmt) != FORMAT:
                raise _bad(name, f"its format is {str(fmt)!r}, this version reads {FORMAT!r}")
            missing = [key for key in ("meta", *ARRAYS) if key not in names]
            if missing:
                raise _bad(name, f"it lacks {', '.join(missing)}")
            arrays = {key: data[key] for key in ARRAYS}
            meta_text = data["meta"]
    except RunFileError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise _bad(name, "it holds pickled objects, which are never loaded") from None
        raise _bad(name, f"it cannot be read ({exc})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise _bad(name, f"it is truncated or not an .npz archive ({exc.__class__.__name__})") from None
    if meta_text.dtype.kind != "U" or meta_text.shape != ():
        raise _bad(name, "its 'meta' entry is not a JSON string")
    try:
        meta = json.loads(str(meta_text))
    except json.JSONDecodeError:
        raise _bad(name, "its 'meta' entry is not valid JSON") from None
    if not isinstance(meta, dict):
        raise _bad(name, "its 'meta' entry is not a JSON object")
    run = Run(meta=meta, path=Path(path), **arrays)
    validate(run, name)
    return run


def validate(run: Run, name: str) -> None:
    missing = [key for key in REQUIRED_META if key not in run.meta]
    if missing:
        raise _bad(name, f"its meta lacks {', '.join(missing)}")
    for key, (dtype, ndim) in ARRAYS.items():
        array = getattr(run, key)
        if array.dtype != dtype or array.ndim != ndim:
            raise _bad(name, f"'{key}' is {array.dtype} with {array.ndim} dimensions, "
                             f"expected {np.dtype(dtype)} with {ndim}")
    try:
        layers = [int(n) for n in run.meta["layers"]]
    except (TypeError, ValueError):
        raise _bad(name, "its meta 'layers' is not a list of widths") from None
    if len(layers) < 3 or layers[0] != INPUTS or layers[-1] != OUTPUTS or min(layers) < 1:
        raise _bad(name, f"its layers {layers} are not 2 inputs -> hidden layers -> 1 output")
    if run.meta["activation"] not in ACTIVATIONS:
        raise _bad(name, f"unknown activation {run.meta['activation']!r}")
    s = len(run.steps)
    if s == 0:
        raise _bad(name, "it holds no snapshots")
    if run.weights.shape != (s, parameter_count(layers)):
        raise _bad(name, f"'weights' is {run.weights.shape}, layers {layers} need "
                         f"({s}, {parameter_count(layers)})")
    if run.snap_loss.shape != (s,):
        raise _bad(name, "'snap_loss' and 'steps' differ in length")
    if s > 1 and not np.all(np.diff(run.steps) > 0):
        raise _bad(name, "'steps' is not strictly increasing")
    if run.loss.shape != run.loss_steps.shape:
        raise _bad(name, "'loss' and 'loss_steps' differ in length")
    if run.target.size == 0 or run.target.max(initial=0) > 1:
        raise _bad(name, "'target' is not an image of 0 and 1")
