"""The snapshot history: what the training worker records and every reader shows.

One writer (the training worker) and any number of readers (renderer, panel, saver) share it.
Storage is preallocated and bounded: when full, the later half is thinned to every other
snapshot (the first and the newest always stay), so the history never outgrows its byte budget,
however long the run. Every read is one locked call, so a reader never sees a torn snapshot nor
an index that thinning has just removed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

MIN_SNAPSHOTS = 16
LOSS_CURVE_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Snapshot:
    """One recorded snapshot, copied out under the history's lock."""

    step: int  # the optimiser step it was taken at (0: the initial network)
    weights: np.ndarray  # float32 [P], a private copy
    loss: float  # full-domain loss
    index: int  # its place among the `count` snapshots recorded when it was read
    count: int
    status: np.ndarray | None = None  # int8 [N]: each hidden neuron dead / always-on / switching (-1 unknown yet)
    status_step: int | None = None  # the step `status` was measured at: this one's, or while its geometry
    # is not measured yet, the newest measured before it (None: none is)

    @property
    def newest(self) -> bool:
        return self.index == self.count - 1


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: a record handed to several readers cannot be changed by one of them."""
    copy = np.array(array)
    copy.flags.writeable = False
    return copy


@dataclass(frozen=True)
class HistoryRecord:
    """Everything a history's readers draw from, taken in one locked read: the snapshots' arrays all
    have one length, whatever the writer pushes or thins meanwhile. Arrays are read-only copies."""

    steps: np.ndarray  # int64 [S]: the snapshots' steps, strictly increasing
    losses: np.ndarray  # float32 [S]: full-image loss at each snapshot
    regions: np.ndarray  # int32 [S]: linear regions (-1: not measured yet)
    density: np.ndarray  # float32 [S, 2]: boundary density near the target's edges, elsewhere (NaN: not measured)
    status: np.ndarray  # int8 [S, N]: each hidden neuron's NeuronStatus (-1: not measured)
    loss_steps: np.ndarray  # int64 [L]: the minibatch loss curve's bucket ends
    loss: np.ndarray  # float32 [L]: the minibatch loss curve
    version: int  # the history's version when read
    thinned: int  # how often the history was thinned
    target_steps: np.ndarray  # int64 [K]: the step from which each target version is in force (painting, --switch)
    weights: np.ndarray | None = None  # float32 [S, P], when asked for

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def measured(self) -> np.ndarray:
        """bool [S]: the snapshots whose geometry is measured."""
        return self.regions >= 0


class LossCurve:
    """Minibatch loss of every step, compacted to bucket means once it fills its budget.

    Entry i holds the mean loss over steps (steps[i-1], steps[i]]; a step's loss is the one
    computed in the forward pass of that optimiser step (steps start at 1).
    """

    def __init__(self, max_bytes: int = LOSS_CURVE_MAX_BYTES, lock: threading.Lock | None = None):
        capacity = max(64, max_bytes // (8 + 4)) // 2 * 2
        self._steps = np.zeros(capacity, dtype=np.int64)
        self._values = np.zeros(capacity, dtype=np.float32)
        self._n = 0
        self._bucket = 1  # steps per stored entry
        self._pending_sum = 0.0
        self._pending_count = 0
        self._last_step = 0
        self._lock = lock or threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._steps.nbytes + self._values.nbytes

    @property
    def bucket(self) -> int:
        return self._bucket

    @property
    def last_step(self) -> int:
        return self._last_step

    def _append(self, last_steps: np.ndarray, means: np.ndarray) -> None:
        take = len(means)  # callers never pass more than the free room
        self._steps[self._n:self._n + take] = last_steps
        self._values[self._n:self._n + take] = means
        self._n += take
        if self._n == len(self._values):
            self._compact()  # at once, so the next bucket is filled at the new width

    def _compact(self) -> None:
        # Every stored bucket has the same width, so a pair's mean is a plain mean.
        half = self._n // 2
        self._values[:half] = 0.5 * (self._values[0:2 * half:2] + self._values[1:2 * half:2])
        self._steps[:half] = self._steps[1:2 * half:2]
        self._n = half
        self._bucket *= 2

    def start_at(self, step: int) -> None:
        """The curve's first step is `step` + 1 (a branch continues its parent's numbering)."""
        with self._lock:
            if self._n or self._pending_count:
                raise ValueError("the loss curve has started already")
            self._last_step = int(step)

    def push(self, losses: np.ndarray) -> None:
        """Append the losses of the next len(losses) steps."""
        values = np.asarray(losses, dtype=np.float64).ravel()
        with self._lock:
            i = 0
            while i < len(values):
                if self._pending_count or len(values) - i < self._bucket:
                    take = min(self._bucket - self._pending_count, len(values) - i)
                    self._pending_sum += float(values[i:i + take].sum())
                    self._pending_count += take
                    i += take
                    self._last_step += take
                    if self._pending_count == self._bucket:
                        self._append(np.array([self._last_step]),
                                     np.array([self._pending_sum / self._bucket]))
                        self._pending_sum, self._pending_count = 0.0, 0
                    continue
                bucket = self._bucket
                full = min((len(values) - i) // bucket, len(self._values) - self._n)
                chunk = values[i:i + full * bucket].reshape(full, bucket)
                last = self._last_step + bucket * np.arange(1, full + 1, dtype=np.int64)
                self._append(last, chunk.mean(axis=1))
                i += full * bucket
                self._last_step += full * bucket

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps int64 [L], loss float32 [L]) copies, the unfinished bucket included."""
        with self._lock:
            return self.arrays_unlocked()

    def arrays_unlocked(self) -> tuple[np.ndarray, np.ndarray]:
        """arrays(), for a caller that holds the lock already (the history's record)."""
        steps = self._steps[:self._n].copy()
        values = self._values[:self._n].copy()
        if self._pending_count:
            steps = np.append(steps, self._last_step)
            values = np.append(values, np.float32(self._pending_sum / self._pending_count))
        return steps, values

    def load(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Replace the contents with a recorded curve (for replaying a run file)."""
        with self._lock:
            while len(values) > len(self._values):
                pairs = len(values) // 2
                values = 0.5 * (values[0:2 * pairs:2] + values[1:2 * pairs:2])
                steps = steps[1:2 * pairs:2]
            self._n = len(values)
            self._steps[:self._n] = steps
            self._values[:self._n] = values
            self._pending_sum, self._pending_count = 0.0, 0
            self._last_step = int(steps[-1]) if len(steps) else 0


def snapshot_bytes(n_params: int, n_hidden: int = 0) -> int:
    """One snapshot's storage: float32 parameters, an int64 step, a float32 loss, and its geometry:
    an int32 region count, float32 densities near the edges and elsewhere, an int8 status per neuron."""
    return n_params * 4 + 8 + 4 + 4 + 8 + n_hidden


class History:
    """Snapshots (step, parameters, full-domain loss) in preallocated, bounded storage.

    Readers name snapshots by step, never by index: thinning moves snapshots to other indices.
    """

    def __init__(self, n_params: int, max_bytes: int, curve_bytes: int | None = None, n_hidden: int = 0):
        self.lock = threading.Lock()
        # The minibatch loss curve takes up to an eighth of the budget, at most 1 MB.
        curve_bytes = min(LOSS_CURVE_MAX_BYTES, max_bytes // 8) if curve_bytes is None else curve_bytes
        self.losses = LossCurve(curve_bytes, self.lock)
        row_bytes = snapshot_bytes(n_params, n_hidden)
        capacity = (max_bytes - self.losses.nbytes) // row_bytes
        if capacity < MIN_SNAPSHOTS:
            need_mb = (MIN_SNAPSHOTS * row_bytes + self.losses.nbytes) / 2**20
            raise ValueError(f"a history of {max_bytes / 2**20:.3g} MB holds fewer than "
                             f"{MIN_SNAPSHOTS} snapshots of this network; use at least "
                             f"{need_mb:.2f} MB")
        capacity -= capacity % 2  # thinning halves the later half: keep it even
        self.n_params = n_params
        self.n_hidden = n_hidden
        self._weights = np.empty((capacity, n_params), dtype=np.float32)
        self._steps = np.zeros(capacity, dtype=np.int64)
        self._loss = np.zeros(capacity, dtype=np.float32)
        # The geometry arrives later, from a worker of its own: -1 and NaN until then.
        self._regions = np.full(capacity, -1, dtype=np.int32)
        self._density = np.full((capacity, 2), np.nan, dtype=np.float32)
        self._status = np.full((capacity, n_hidden), -1, dtype=np.int8)
        self._n = 0
        self.version = 0  # bumped by every change: readers cache what they derive by it
        self.thinned = 0
        self._record: HistoryRecord | None = None  # the last record() handed out, while nothing changes
        self._record_key: tuple[int, int, int] | None = None
        # The target's versions (painted or switched while training), bit-packed: a version is 5 KB at 200 px.
        self._target_steps: list[int] = []
        self._targets: list[np.ndarray] = []
        self._target_shape: tuple[int, int] = (0, 0)
        self._unpacked: tuple[np.ndarray, np.ndarray] | None = None  # (packed version, its pixels): the last asked

    @property
    def capacity(self) -> int:
        return len(self._steps)

    @property
    def nbytes(self) -> int:
        """Bytes of storage held: snapshots plus the loss curve (preallocated) and the target's versions."""
        rows = (self._weights, self._steps, self._loss, self._regions, self._density, self._status)
        return sum(array.nbytes for array in rows) + self.losses.nbytes + sum(packed.nbytes for packed in self._targets)

    @property
    def used_bytes(self) -> int:
        """Bytes the recorded snapshots fill, plus the loss curve and the target's versions."""
        return (len(self) * snapshot_bytes(self.n_params, self.n_hidden) + self.losses.nbytes
                + sum(packed.nbytes for packed in self._targets))

    def add_target(self, step: int, pixels: np.ndarray) -> None:
        """The target version in force from `step` on (its snapshot's loss included); a version at the step of
        the last one replaces it: at most one version a step."""
        packed = np.packbits(np.asarray(pixels, dtype=bool).ravel())
        with self.lock:
            if self._target_steps and step < self._target_steps[-1]:
                raise ValueError(f"target version at step {step} is before the last one's ({self._target_steps[-1]})")
            if self._target_steps and step == self._target_steps[-1]:
                self._targets[-1] = packed
            else:
                self._target_steps.append(int(step))
                self._targets.append(packed)
            self._target_shape = (int(pixels.shape[0]), int(pixels.shape[1]))
            self.version += 1

    def target_at(self, step: int) -> tuple[int, np.ndarray]:
        """(index, uint8 [H, W] pixels) of the target version in force at `step` (the first before any)."""
        with self.lock:
            index = max(0, int(np.searchsorted(self._target_steps, step, side="right")) - 1)
            packed, shape, unpacked = self._targets[index], self._target_shape, self._unpacked
        if unpacked is not None and unpacked[0] is packed:  # every frame asks again: unpacked once a version
            return index, unpacked[1]
        pixels = np.unpackbits(packed, count=shape[0] * shape[1]).reshape(shape)
        pixels.flags.writeable = False  # shared by the frames that ask for it
        self._unpacked = (packed, pixels)
        return index, pixels

    def target_versions(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps int64 [K], uint8 [K, H, W]) of every target version, for saving."""
        with self.lock:
            steps, packed, shape = list(self._target_steps), list(self._targets), self._target_shape
        count = shape[0] * shape[1]
        return (np.asarray(steps, dtype=np.int64),
                np.stack([np.unpackbits(p, count=count).reshape(shape) for p in packed]) if packed else
                np.zeros((0, *shape), np.uint8))

    def __len__(self) -> int:
        return self._n

    def push(self, step: int, weights: np.ndarray, loss: float) -> None:
        with self.lock:
            if self._n and step <= self._steps[self._n - 1]:
                raise ValueError(f"snapshot step {step} is not after {self._steps[self._n - 1]}")
            if self._n == self.capacity:
                self._thin()
            self._weights[self._n] = weights
            self._steps[self._n] = step
            self._loss[self._n] = loss
            self._regions[self._n] = -1
            self._density[self._n] = np.nan
            self._status[self._n] = -1
            self._n += 1
            self.version += 1

    def set_geometry(self, step: int, regions: int, density: np.ndarray, status: np.ndarray) -> None:
        """The geometry of the snapshot at `step`, once measured (nothing if thinning dropped it)."""
        with self.lock:
            i = int(np.searchsorted(self._steps[:self._n], step))
            if i < self._n and self._steps[i] == step:
                self._regions[i], self._density[i], self._status[i] = regions, density, status
                self.version += 1

    def _thin(self) -> None:
        # Keep the first half as it is; in the second half keep every other, ending on the newest.
        half = self._n // 2
        keep = np.arange(self._n - 1, half - 1, -2)[::-1]
        new_n = half + len(keep)
        for rows in (self._weights, self._steps, self._loss, self._regions, self._density, self._status):
            rows[half:new_n] = rows[keep]
        self._n = new_n
        self.thinned += 1

    def read(self, step: int | None = None, offset: int = 0, wrap: bool = False) -> Snapshot | None:
        """The newest snapshot at or before `step` (the newest of all when None, the first when
        `step` precedes it), moved `offset` snapshots later (earlier if negative) and clamped to
        the recorded ones, or with `wrap` counted round; None while nothing is recorded."""
        with self.lock:
            n = self._n
            if n == 0:
                return None
            i = n - 1 if step is None else int(np.searchsorted(self._steps[:n], step, side="right")) - 1
            i = max(i, 0) + offset
            i = i % n if wrap else min(max(i, 0), n - 1)
            j = i  # whose status: this snapshot's, or while the helper lags, the newest measured before it
            if self._regions[i] < 0:
                measured = np.flatnonzero(self._regions[:i] >= 0)
                j = int(measured[-1]) if len(measured) else i
            return Snapshot(int(self._steps[i]), self._weights[i].copy(), float(self._loss[i]), i, n,
                            self._status[j].copy(), int(self._steps[j]) if self._regions[j] >= 0 else None)

    def latest_step(self) -> int:
        with self.lock:
            return int(self._steps[self._n - 1]) if self._n else -1

    def weights_at(self, step: int) -> np.ndarray | None:
        """A copy of the weights recorded at exactly `step`, or None (never recorded, or thinned away)."""
        with self.lock:
            i = int(np.searchsorted(self._steps[:self._n], step))
            return self._weights[i].copy() if i < self._n and self._steps[i] == step else None

    def record(self, weights: bool = False) -> HistoryRecord:
        """Everything recorded, copied out in one locked call (arrays of one length, read-only); the
        same object again while nothing changed, so a frame's readers share one copy. `weights` adds
        the parameters (for saving: not cached)."""
        with self.lock:
            key = (self.version, self.losses.last_step, self.losses.bucket)
            if not weights and self._record is not None and self._record_key == key:
                return self._record
            n = self._n
            loss_steps, loss = self.losses.arrays_unlocked()
            record = HistoryRecord(frozen(self._steps[:n]), frozen(self._loss[:n]), frozen(self._regions[:n]),
                                   frozen(self._density[:n]), frozen(self._status[:n]), frozen(loss_steps),
                                   frozen(loss), self.version, self.thinned,
                                   frozen(np.asarray(self._target_steps, dtype=np.int64)),
                                   frozen(self._weights[:n]) if weights else None)
            if not weights:
                self._record, self._record_key = record, key
            return record

    @classmethod
    def from_arrays(cls, steps: np.ndarray, weights: np.ndarray, losses: np.ndarray,
                    geometry: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> History:
        """A history holding a recorded run (replay): room for exactly its snapshots and a full curve;
        `geometry` = (regions, density, status) where the run file has them."""
        n, p = weights.shape
        n_hidden = 0 if geometry is None else geometry[2].shape[1]
        rows = max(n, MIN_SNAPSHOTS) + n % 2
        history = cls(p, rows * snapshot_bytes(p, n_hidden) + LOSS_CURVE_MAX_BYTES, curve_bytes=LOSS_CURVE_MAX_BYTES,
                      n_hidden=n_hidden)
        history._weights[:n] = weights
        history._steps[:n] = steps
        history._loss[:n] = losses
        if geometry is not None:
            history._regions[:n], history._density[:n], history._status[:n] = geometry
        history._n = n
        return history
