"""The run file: a numpy .npz (no pickle) holding a whole training history.

Contract (other tools read it): `format` = "ginn-run/1"; `meta` = a JSON string; `steps` int64 [S]
strictly increasing; `weights` float32 [S, P] (per layer W (out, in) row-major, then b);
`snap_loss` float32 [S]; `loss_steps` int64 [L] and `loss` float32 [L]; `target` uint8 [H, W].
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ginn_gl.core.config import MAX_HIDDEN_LAYERS, MAX_RESOLUTION, MAX_SEED, MAX_WIDTH
from ginn_gl.core.errors import RunFileError, UserError
from ginn_gl.core.exact import GEOMETRY_KINDS
from ginn_gl.core.history import LOSS_CURVE_MAX_BYTES, snapshot_bytes
from ginn_gl.core.network import ACTIVATIONS, HEADS, INPUTS, OUTPUTS, parameter_count
from ginn_gl.core.npzread import NpzError, entry_names, open_archive, read_entry, read_text
from ginn_gl.core.outputs import fallback_paths, printable, write_atomically
from ginn_gl.core.resources import available_bytes
from ginn_gl.core.schedule import SCHEDULES, SNAPSHOTS
from ginn_gl.core.targets import THRESHOLDS

FORMAT = "ginn-run/2"  # 2: the target's versions (painting, --switch); 1 still loads
# meta's keys and their JSON types: the first block is required, the rest optional (older files).
JsonTypes = type | tuple[type, ...]
META_TYPES: dict[str, JsonTypes] = {
    "layers": list, "activation": str, "seed": int, "image": str, "resolution": int, "batch_size": int,
    "lr": (int, float), "schedule": str, "steps": int, "device": str, "torch_version": str, "created": str}
OPTIONAL_META_TYPES: dict[str, JsonTypes] = {
    "head": str, "threshold": str, "snapshots": str, "history_mb": (int, float), "steps_done": int, "state": str,
    "message": str, "train_seconds": (int, float), "ginn_gl_version": str, "image_source": str,
    "image_sha256": str, "switches": list, "parent": dict, "geometry": str}
REQUIRED_META = tuple(META_TYPES)
MAX_META_CHARS = 1 << 20
LOSS_POINTS = LOSS_CURVE_MAX_BYTES // 12 + 2  # the minibatch curve never holds more
ARRAYS = {  # name -> (dtype, ndim)
    "steps": (np.int64, 1),
    "weights": (np.float32, 2),
    "snap_loss": (np.float32, 1),
    "loss_steps": (np.int64, 1),
    "loss": (np.float32, 1),
    "target": (np.uint8, 2),
    "regions": (np.int32, 1),
    "density": (np.float32, 2),
    "status": (np.int8, 2),
    "targets": (np.uint8, 3),
    "target_steps": (np.int64, 1),
}
GEOMETRY = ("regions", "density", "status")  # optional: files from before ginn-gl measured geometry
VERSIONS = ("targets", "target_steps")  # optional: ginn-run/1 files have one target, in force from the start
READS = ("ginn-run/1", FORMAT)  # the formats this version reads
MAX_TARGET_BYTES = 256 << 20  # a stranger's file cannot make us hold more target versions than this


ABSENT = np.zeros(0)  # a geometry array a file lacks: Run fills it as not measured


@dataclass
class Run:
    meta: dict
    steps: np.ndarray
    weights: np.ndarray
    snap_loss: np.ndarray
    loss_steps: np.ndarray
    loss: np.ndarray
    target: np.ndarray
    # The geometry of each snapshot (absent from older files): -1 and NaN where it was not measured.
    regions: np.ndarray = field(default_factory=lambda: ABSENT)  # int32 [S]: linear regions
    density: np.ndarray = field(default_factory=lambda: ABSENT)  # float32 [S, 2]: near the edges / elsewhere
    status: np.ndarray = field(default_factory=lambda: ABSENT)  # int8 [S, N]: each hidden neuron's NeuronStatus
    # The target's versions, each in force from its step on (version 0 is `target`; one for older files).
    targets: np.ndarray = field(default_factory=lambda: ABSENT)  # uint8 [K, H, W]
    target_steps: np.ndarray = field(default_factory=lambda: ABSENT)  # int64 [K]
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        count, hidden = len(self.steps), sum(self.layers[1:-1])
        if self.targets is ABSENT:
            self.targets = self.target[None].copy()
        if self.target_steps is ABSENT:
            self.target_steps = np.array([int(self.steps[0]) if count else 0], dtype=np.int64)
        if self.regions is ABSENT:
            self.regions = np.full(count, -1, dtype=np.int32)
        if self.density is ABSENT:
            self.density = np.full((count, 2), np.nan, dtype=np.float32)
        if self.status is ABSENT:
            self.status = np.full((count, hidden), -1, dtype=np.int8)

    @property
    def layers(self) -> list[int]:
        return [int(n) for n in self.meta["layers"]]

    @property
    def activation(self) -> str:
        return str(self.meta["activation"])

    def __len__(self) -> int:
        return len(self.steps)

    def in_force(self, step: int, option: str = "--step ") -> int:
        """Index of the snapshot in force at `step`: the newest at or before it (after the run's end, its
        last), as the window's slider, the web page and the Python API show a step; a step before the
        first snapshot is one line naming `option` (as the caller spells it, e.g. "--step " or "step=")."""
        first = int(self.steps[0])
        if step < first:
            raise UserError(f"{option}{step:,} is before the first snapshot of {printable(self.path or 'the run')} "
                            f"(step {first:,}); give a later step (see `ginn-gl info`)")
        return int(np.searchsorted(self.steps, step, side="right")) - 1

    def target_at(self, step: int) -> np.ndarray:
        """The target version in force at `step`."""
        return self.targets[max(0, int(np.searchsorted(self.target_steps, step, side="right")) - 1)]


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def save_run(path: str | os.PathLike, run: Run, overwrite: bool = False) -> Path:
    """Write atomically (one temporary name, then a move); never onto an existing file unless
    `overwrite`: a name taken meanwhile gets a number. Returns where the run landed."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # what numpy programs expect
    validate(run, str(path))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # open() respects the umask, as any file a user makes
            np.savez(handle, format=np.array(FORMAT), meta=np.array(json.dumps(run.meta)),
                     **{key: getattr(run, key).astype(dtype) for key, (dtype, _) in ARRAYS.items()})

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, write, overwrite)


def _bad(path: str, why: str) -> RunFileError:
    return RunFileError(f"{printable(path)} is not a usable ginn-gl run file: {why}; "
                        "give a .npz written by `ginn-gl train` or the window")


def load_run(path: str | os.PathLike) -> Run:
    """Read and check a run file. Never unpickles (a stranger's file cannot run code), checks every
    entry's header against what the meta implies before reading it (nor blow up memory)."""
    name = str(path)
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"run file not found: {printable(name)}; give the path of a .npz written by "
                           "`ginn-gl train` or the window")
    if path.is_dir():
        raise RunFileError(f"{printable(name)} is a folder; give the path of a run file (.npz)")
    try:
        with open_archive(path) as archive:
            names = entry_names(archive)
            if "format" not in names:
                raise NpzError("it has no 'format' entry")
            fmt = read_text(archive, "format", 64)
            if fmt not in READS:
                raise NpzError(f"its format is {printable(repr(fmt))}, this version reads {' and '.join(READS)}")
            missing = [key for key in ("meta", "steps", "weights", "snap_loss", "loss_steps", "loss", "target")
                       if key not in names]
            if missing:
                raise NpzError(f"it lacks {', '.join(missing)}")
            meta = _meta(read_text(archive, "meta", MAX_META_CHARS))
            arrays = _arrays(archive, meta)
    except NpzError as exc:
        raise _bad(name, str(exc)) from None
    run = Run(meta=meta, path=path, **arrays)
    validate(run, name)
    return run


def load_side_by_side(paths: list[str], most: int) -> list[Run]:
    """Runs to show in one grid: 1 to `most` of them, of one target size (the cells are one size)."""
    if not 1 <= len(paths) <= most:
        raise UserError(f"{len(paths)} run files: a grid shows 1 to {most}; give fewer")
    runs = [load_run(path) for path in paths]
    if len({run.target.shape for run in runs}) > 1:
        sizes = ", ".join(f"{printable(Path(path).name)} {run.target.shape[1]}x{run.target.shape[0]}"
                          for path, run in zip(paths, runs))
        raise UserError(f"runs of different target sizes cannot share a grid ({sizes}); show them one by one")
    return runs


def _meta(text: str) -> dict:
    """The meta entry's JSON, with every known key of its JSON type."""
    try:
        meta = json.loads(text)
    except json.JSONDecodeError:
        raise NpzError("its 'meta' entry is not valid JSON") from None
    except RecursionError:  # a value nested a hundred thousand levels deep
        raise NpzError("its 'meta' entry is nested too deeply") from None
    if not isinstance(meta, dict):
        raise NpzError("its 'meta' entry is not a JSON object")
    missing = [key for key in META_TYPES if key not in meta]
    if missing:
        raise NpzError(f"its meta lacks {', '.join(missing)}")
    for key, kinds in (META_TYPES | OPTIONAL_META_TYPES).items():
        value = meta.get(key)
        if key in meta and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise NpzError(f"its meta {key!r} is {type(value).__name__} {printable(repr(value))[:40]}, not "
                           f"{' or '.join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))}")
    layers = meta["layers"]
    if not (all(isinstance(n, int) and not isinstance(n, bool) for n in layers) and len(layers) >= 3
            and layers[0] == INPUTS and layers[-1] == OUTPUTS and min(layers) >= 1):
        raise NpzError(f"its layers {printable(repr(layers))[:60]} are not 2 inputs -> hidden layers -> 1 output")
    if len(layers) - 2 > MAX_HIDDEN_LAYERS or max(layers[1:-1]) > MAX_WIDTH:
        raise NpzError(f"its layers {layers} are larger than ginn-gl trains ({MAX_HIDDEN_LAYERS} hidden layers of "
                       f"{MAX_WIDTH} at most)")
    if meta["activation"] not in ACTIVATIONS or meta.get("head", "sigmoid") not in HEADS:
        raise NpzError(f"its activation or head ({printable(meta['activation'])}, "
                       f"{printable(meta.get('head', 'sigmoid'))}) is unknown")
    for key, known in (("threshold", THRESHOLDS), ("snapshots", SNAPSHOTS), ("schedule", SCHEDULES),
                       ("geometry", GEOMETRY_KINDS)):
        if key in meta and meta[key] not in known:
            raise NpzError(f"its meta {key} {printable(repr(meta[key]))[:40]} is not one of {', '.join(known)}")
    if not 0 <= meta["seed"] <= MAX_SEED or meta["steps"] < 1 or not 1 <= meta["resolution"] <= MAX_RESOLUTION:
        raise NpzError("its meta seed, steps or resolution is out of range")
    if not (math.isfinite(meta["lr"]) and meta["lr"] > 0):
        raise NpzError("its meta lr is not a positive number")
    return meta


def _arrays(archive, meta: dict) -> dict[str, np.ndarray]:
    """The arrays, each no larger than the meta implies: snapshots within the history budget the run
    had (and the machine's memory), the minibatch curve within its 1 MB, the target within 2048^2."""
    n_params = parameter_count(meta["layers"])
    history_mb = meta.get("history_mb", 64.0)
    if not (isinstance(history_mb, (int, float)) and math.isfinite(history_mb) and history_mb > 0):
        raise NpzError("its meta history_mb is not a positive number")
    budget = min(history_mb * 2**20, available_bytes() // 2)
    snapshots = int(min(meta["steps"] + 1, budget // snapshot_bytes(n_params) + 16))
    size = MAX_RESOLUTION
    hidden = sum(meta["layers"][1:-1])
    limits = {"steps": (snapshots,), "weights": (snapshots, n_params), "snap_loss": (snapshots,),
              "loss_steps": (LOSS_POINTS,), "loss": (LOSS_POINTS,), "target": (size, size),
              "regions": (snapshots,), "density": (snapshots, 2), "status": (snapshots, hidden)}
    present = entry_names(archive)
    arrays = {key: read_entry(archive, key, np.dtype(dtype), ndim, limits[key])
              for key, (dtype, ndim) in ARRAYS.items() if key in limits and (key not in GEOMETRY or key in present)}
    if all(key in present for key in VERSIONS):  # as many versions as snapshots, and never more than 256 MB
        height, width = arrays["target"].shape
        versions = max(1, min(snapshots, MAX_TARGET_BYTES // max(height * width, 1)))
        arrays["targets"] = read_entry(archive, "targets", np.dtype(np.uint8), 3, (versions, height, width))
        arrays["target_steps"] = read_entry(archive, "target_steps", np.dtype(np.int64), 1, (versions,))
    return arrays


def validate(run: Run, name: str) -> None:
    """A run's meta and arrays agree with each other and hold no NaN or infinity (saving checks too)."""
    try:
        _meta(json.dumps(run.meta))
    except RecursionError:
        raise _bad(name, "its meta is nested too deeply") from None
    except NpzError as exc:
        raise _bad(name, str(exc)) from None
    for key, (dtype, ndim) in ARRAYS.items():
        array = getattr(run, key)
        if array.dtype != dtype or array.ndim != ndim:
            raise _bad(name, f"'{key}' is {array.dtype} with {array.ndim} dimensions, "
                             f"expected {np.dtype(dtype)} with {ndim}")
    layers = run.layers
    s = len(run.steps)
    if s == 0:
        raise _bad(name, "it holds no snapshots")
    if run.weights.shape != (s, parameter_count(layers)):
        raise _bad(name, f"'weights' is {run.weights.shape}, layers {layers} need "
                         f"({s}, {parameter_count(layers)})")
    if run.snap_loss.shape != (s,):
        raise _bad(name, "'snap_loss' and 'steps' differ in length")
    if run.steps[0] < 0 or (s > 1 and not np.all(np.diff(run.steps) > 0)):
        raise _bad(name, "'steps' is not strictly increasing from 0 or more")
    if run.loss.shape != run.loss_steps.shape:
        raise _bad(name, "'loss' and 'loss_steps' differ in length")
    if not all(np.isfinite(a).all() for a in (run.weights, run.snap_loss, run.loss)):
        raise _bad(name, "it holds NaN or infinite weights or losses")
    if run.target.size == 0 or run.target.max(initial=0) > 1:
        raise _bad(name, "'target' is not an image of 0 and 1")
    if (run.regions.shape != (s,) or run.density.shape != (s, 2) or run.status.shape != (s, sum(layers[1:-1]))
            or run.regions.min(initial=-1) < -1 or not np.isin(run.status, (-1, 0, 1, 2)).all()
            or np.isinf(run.density).any()):
        raise _bad(name, "its geometry ('regions', 'density', 'status') does not fit its snapshots")
    k = len(run.target_steps)
    if (k == 0 or run.targets.shape != (k, *run.target.shape) or run.targets.max(initial=0) > 1
            or not np.array_equal(run.targets[0], run.target) or run.target_steps[0] > run.steps[0]
            or (k > 1 and not np.all(np.diff(run.target_steps) > 0))):
        raise _bad(name, "its target versions ('targets', 'target_steps') do not fit its target and steps")


def save_with_fallback(path: Path, run: Run, overwrite: bool = False) -> tuple[Path | None, str | None]:
    """Save `run` to `path`; if that place fails now (disk full, folder removed), to the current or the
    temporary folder. Returns where it landed (None: nowhere) and a one-line problem to report, if any."""
    try:
        return save_run(path, run, overwrite), None
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
    for fallback in fallback_paths(path):
        try:
            landed = save_run(fallback, run)
        except OSError:
            continue
        return landed, f"could not write {printable(str(path))} ({reason}); the run is saved to {landed} instead"
    return None, (f"could not write {printable(str(path))} ({reason}), nor in the current or the temporary folder; "
                  "the run is lost")
