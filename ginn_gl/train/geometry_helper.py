"""The geometry helper: a process beside training that measures each snapshot's geometry exactly
(core/exact.py: the number of linear regions in the picture, the neuron boundaries' length per unit area
near the target's edges and elsewhere, each neuron's status) and sends it back, so training never
waits for it. Plain numpy (no torch: it starts in a fraction of a second); it measures the snapshots
waiting in batches, every seed of them in one partitions() call, on idle time only.

Its whole life belongs to the Trainer that starts it: one helper per trainer, ended by
Trainer.finish (or at the latest when this process exits; the helper also dies with its parent).
What waits for measurement is a queue of step numbers only: the weights are read from the
histories when they are sent, so waiting snapshots are no extra copies (the pipe holds at most
64 KB more). A helper that dies, is stopped, or answers nothing for STALL_SECONDS while work waits
is given up at once: the snapshots it did not measure stay unmeasured (-1) in the run file.
"""

from __future__ import annotations

import collections
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

import numpy as np

from ginn_gl.core.config import MAX_HIDDEN_LAYERS, MAX_RESOLUTION, MAX_WIDTH
from ginn_gl.core.exact import measure, near_edges
from ginn_gl.core.history import History
from ginn_gl.core.network import ACTIVATIONS, INPUTS, OUTPUTS, parameter_count
from ginn_gl.core.resources import child_ended, die_with_parent, start_child
from ginn_gl.core.selection import hidden_count

HELPER_MODULE = "ginn_gl.train.geometry_helper"
STALL_SECONDS = 1.5  # no answer for this long while work waits (and at least 3x its slowest answer): given up
STARTUP_SECONDS = 15.0  # ... and before its first answer (a loaded machine takes a while to start Python)
EXIT_SECONDS = 0.3  # after its input closes, the helper has this long to exit before it is killed
MAX_SEEDS = 64
BATCH_SECONDS = 0.25  # the helper measures the snapshots waiting in batches of about this long
MAX_BATCH = 64  # snapshots a batch takes at most


class WireError(Exception):
    """Input that does not follow the helper's protocol."""


class Wire:
    """The helper's pipe protocol, packed and unpacked here only.

    Parent -> helper: a header (int64 count, then int64 height, width, layer count, activation index,
    seeds, the layer sizes; then the target, uint8 [H, W]); then messages, each an int64 tag: a step
    >= 0 followed by that snapshot's weights, float32 [seeds, P]; TARGET followed by a new target of
    the same size; END. Helper -> parent, per snapshot: int64 step (-1: not measured), float32 seconds
    it took, int32 regions [seeds], float32 density [seeds, 2], int8 status [seeds, N]; first of all, a
    READY reply once it can measure.
    """

    END = -1
    TARGET = -2
    READY = -2  # the reply that says the helper has read the header and can measure

    def __init__(self, sizes: list[int], activation: str, seeds: int, shape: tuple[int, int]):
        self.sizes, self.activation, self.seeds, self.shape = list(sizes), activation, seeds, shape
        self.n_params = parameter_count(self.sizes)
        self.n_hidden = hidden_count(self.sizes)
        self.weights_bytes = 4 * seeds * self.n_params
        self.reply_bytes = 8 + 4 + seeds * (4 + 8 + self.n_hidden)

    def header(self, target: np.ndarray) -> bytes:
        values = [*self.shape, len(self.sizes), list(ACTIVATIONS).index(self.activation), self.seeds, *self.sizes]
        return (np.array([len(values), *values], dtype=np.int64).tobytes()
                + np.ascontiguousarray(target, dtype=np.uint8).tobytes())

    @classmethod
    def read_header(cls, read: Callable[[int], bytes]) -> tuple[Wire, np.ndarray]:
        """The header from `read` (exactly n bytes or EOFError), checked before anything is allocated."""
        count = int(np.frombuffer(read(8), np.int64)[0])
        if not 5 + 3 <= count <= 5 + MAX_HIDDEN_LAYERS + 2:
            raise WireError(f"a header of {count} numbers")
        height, width, n_layers, activation, seeds, *sizes = (int(v) for v in np.frombuffer(read(8 * count), np.int64))
        if not (1 <= height <= MAX_RESOLUTION and 1 <= width <= MAX_RESOLUTION and 1 <= seeds <= MAX_SEEDS
                and 0 <= activation < len(ACTIVATIONS) and n_layers == len(sizes) and sizes[0] == INPUTS
                and sizes[-1] == OUTPUTS and all(1 <= n <= MAX_WIDTH for n in sizes[1:-1])):
            raise WireError("a header out of range")
        wire = cls(sizes, list(ACTIVATIONS)[activation], seeds, (height, width))
        return wire, wire.read_target(read)

    def read_target(self, read: Callable[[int], bytes]) -> np.ndarray:
        pixels = np.frombuffer(read(self.shape[0] * self.shape[1]), np.uint8).reshape(self.shape)
        if pixels.max(initial=0) > 1:
            raise WireError("a target that is not 0 and 1")
        return pixels

    def snapshot(self, step: int, weights: np.ndarray) -> bytes:
        return np.array([step], np.int64).tobytes() + np.ascontiguousarray(weights, np.float32).tobytes()

    def target(self, pixels: np.ndarray) -> bytes:
        return np.array([self.TARGET], np.int64).tobytes() + np.ascontiguousarray(pixels, np.uint8).tobytes()

    def end(self) -> bytes:
        return np.array([self.END], np.int64).tobytes()

    def read_weights(self, read: Callable[[int], bytes]) -> np.ndarray:
        weights = np.frombuffer(read(self.weights_bytes), np.float32).reshape(self.seeds, self.n_params)
        if not np.isfinite(weights).all():
            raise WireError("weights that are not finite")
        return weights

    def reply(self, step: int, seconds: float, regions: np.ndarray, density: np.ndarray, status: np.ndarray) -> bytes:
        return (np.array([step], np.int64).tobytes() + np.array([seconds], np.float32).tobytes()
                + np.asarray(regions, np.int32).tobytes() + np.asarray(density, np.float32).tobytes()
                + np.asarray(status, np.int8).tobytes())

    def unreadable(self, step: int) -> bytes:
        """The reply for a snapshot the helper could not measure."""
        return self.reply(-1 if step < 0 else step, 0.0, np.full(self.seeds, -1), np.full((self.seeds, 2), np.nan),
                          np.full((self.seeds, self.n_hidden), -1))

    def unpack_reply(self, data: bytes) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
        s, n = self.seeds, self.n_hidden
        step = int(np.frombuffer(data, np.int64, 1)[0])
        seconds = float(np.frombuffer(data, np.float32, 1, 8)[0])
        regions = np.frombuffer(data, np.int32, s, 12)
        density = np.frombuffer(data, np.float32, 2 * s, 12 + 4 * s).reshape(s, 2)
        status = np.frombuffer(data, np.int8, s * n, 12 + 12 * s).reshape(s, n)
        return step, seconds, regions, density, status


class GeometryHelper:
    """The parent's side of one helper process, for a trainer's histories (one per seed)."""

    def __init__(self, target: np.ndarray, sizes: list[int], activation: str, histories: list[History],
                 enabled: bool = True):
        self.histories = histories
        self.enabled = enabled  # off only to measure what it costs (bench/train_throughput.py)
        self.wire = Wire(sizes, activation, len(histories), target.shape)
        self.problem: str | None = None  # why geometry stopped being measured (a dead or stalled helper)
        self.slowest = 0.0  # seconds: the helper's longest measurement so far (its own clock)
        self.ready = False  # the helper has started and can measure
        self.last_answer = time.perf_counter()
        # Submitted, not sent yet, in order: snapshot steps, and target versions (pixels) between them.
        self._steps: collections.deque[int | np.ndarray] = collections.deque()
        self._waiting = 0  # submitted and not answered, skipped or given up
        self._changed = threading.Condition()
        self._ended = False
        self.process: subprocess.Popen[bytes] | None = None
        if not enabled:
            return
        self.process = start_child(HELPER_MODULE)
        self._sender = threading.Thread(target=self._send, args=(self.wire.header(target),), daemon=True,
                                        name="ginn-gl-geometry-send")
        self._receiver = threading.Thread(target=self._receive, daemon=True, name="ginn-gl-geometry")
        self._sender.start()
        self._receiver.start()

    # ---- any thread ------------------------------------------------------------------------------

    def submit(self, step: int) -> None:
        """Measure the snapshot recorded at `step` (its weights are read from the histories when sent)."""
        with self._changed:
            if self.enabled and not self._ended and self.problem is None:
                self._steps.append(step)
                self._waiting += 1
                self._changed.notify_all()

    def set_target(self, step: int, pixels: np.ndarray) -> None:
        """The target changes from `step` on: snapshots submitted after this are measured against it."""
        with self._changed:
            if self.enabled and not self._ended and self.problem is None:
                self._steps.append(np.array(pixels, dtype=np.uint8))
                self._changed.notify_all()

    @property
    def lag(self) -> int:
        """Snapshots submitted and not measured yet."""
        return self._waiting

    def running(self) -> bool:
        """The helper is alive and not stopped (SIGSTOP): it can still answer."""
        if self.process is None or self.process.poll() is not None:
            return False
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as stat:
                state = stat.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True  # no /proc: only its answers tell
        return state not in (b"T", b"t", b"Z", b"X")

    def wait(self, timeout: float, interrupted: Callable[[], bool] = lambda: False,
             report: Callable[[int], None] | None = None) -> bool:
        """Wait up to `timeout` s for what was submitted, while the helper works: a dead or stopped helper
        ends the wait at once, one silent for STALL_SECONDS (or 3x its slowest answer) too, and so does
        `interrupted()`. `report(left)` is told the count about five times a second. True when all is measured."""
        started = time.perf_counter()
        deadline = started + timeout
        reported = 0.0
        while self._waiting and not interrupted():
            now = time.perf_counter()
            if now >= deadline:
                break
            if not self.running():
                self._give_up("the geometry helper ended" if self.process and self.process.poll() is not None
                              else "the geometry helper was stopped")
                break
            silent = now - max(self.last_answer, started)
            if silent > max(STALL_SECONDS if self.ready else STARTUP_SECONDS, 3 * self.slowest):
                self._give_up(f"the geometry helper answered nothing for {silent:.1f} s")
                break
            if report is not None and now - reported >= 0.2:
                report(self._waiting)
                reported = now
            with self._changed:
                self._changed.wait(0.05)
        return not self._waiting

    def close(self) -> None:
        """End the helper now (what it has not measured stays unmeasured) and reap it."""
        with self._changed:
            if self._ended:
                return
            self._ended = True
            self._steps.clear()
            self._changed.notify_all()
        if self.process is None:
            return
        self._sender.join(EXIT_SECONDS)  # it writes END and closes the helper's input, if the pipe has room
        try:
            self.process.wait(EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()  # stopped, busy or stuck: SIGKILL ends a stopped process too
            self.process.wait()
        child_ended(self.process)
        self._sender.join(1.0)
        self._receiver.join(1.0)

    def _give_up(self, why: str) -> None:
        with self._changed:
            self.problem = self.problem or why
            self._steps.clear()
            self._waiting = 0
            self._changed.notify_all()

    # ---- the helper's pipes (own threads) ------------------------------------------------------

    def _send(self, header: bytes) -> None:
        """Writes to the helper from a thread of its own: a helper still starting never blocks training."""
        assert self.process is not None and self.process.stdin is not None
        pipe = self.process.stdin
        try:
            pipe.write(header)
            pipe.flush()
            while True:
                with self._changed:
                    while not self._steps and not self._ended:
                        self._changed.wait()
                    if self._ended:
                        break
                    item = self._steps.popleft()
                if isinstance(item, np.ndarray):  # a new target version: the helper measures against it
                    pipe.write(self.wire.target(item))
                    pipe.flush()
                    continue
                step = item
                weights = [history.weights_at(step) for history in self.histories]
                if any(w is None for w in weights):  # thinned away before it was sent: nothing to measure
                    self._answered()
                    continue
                pipe.write(self.wire.snapshot(step, np.stack(weights)))  # type: ignore[arg-type]
                pipe.flush()
            pipe.write(self.wire.end())
            pipe.close()
        except (OSError, ValueError):  # the helper is gone (or was killed): its geometry stays unknown
            pass

    def _receive(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stream, size = self.process.stdout, self.wire.reply_bytes
        while len(data := stream.read(size)) == size:
            step, seconds, regions, density, status = self.wire.unpack_reply(data)
            self.last_answer = time.perf_counter()
            if step == Wire.READY and not self.ready:
                self.ready = True
                continue
            if step >= 0:
                for s, history in enumerate(self.histories):
                    history.set_geometry(step, int(regions[s]), density[s], status[s])
            self.slowest = max(self.slowest, seconds)
            self._answered()
        if not self._ended:
            self._give_up("the geometry helper ended")

    def _answered(self) -> None:
        with self._changed:
            self._waiting = max(0, self._waiting - 1)
            self._changed.notify_all()


# ---- the helper process ------------------------------------------------------------------------

def idle_only() -> None:
    """Run on idle time only: where cores are few, training and the window come first (Linux:
    SCHED_IDLE; elsewhere the lowest nice)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        if hasattr(os, "nice"):
            os.nice(19)


class PipeReader:
    """Exact reads from a pipe, and whether more is waiting (for batching)."""

    def __init__(self, stream: IO[bytes]):
        self.fd = stream.fileno()
        self.buffer = bytearray()

    def read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = os.read(self.fd, max(count - len(self.buffer), 1 << 16))
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def more_waiting(self) -> bool:
        return bool(self.buffer) or bool(select.select([self.fd], [], [], 0)[0])


def wire_zeros(wire: Wire) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(wire.seeds), np.zeros((wire.seeds, 2)), np.zeros((wire.seeds, wire.n_hidden))


class Batcher:
    """The helper's measuring: snapshots gathered into batches that one partitions() call measures
    (every seed of every snapshot), as many as fit BATCH_SECONDS by the measured cost per snapshot."""

    def __init__(self, wire: Wire, target: np.ndarray, stdout: IO[bytes]):
        self.wire, self.stdout = wire, stdout
        self.near = near_edges(target)
        self.pending: list[tuple[int, np.ndarray]] = []  # (step, weights [seeds, P]) read, not measured
        self.per_snapshot: float | None = None  # seconds, measured: sizes the next batches

    @property
    def budget(self) -> int:
        """Snapshots a batch takes: one until a cost is measured (a wide net's may take a second)."""
        if self.per_snapshot is None:
            return 1
        return int(np.clip(BATCH_SECONDS / max(self.per_snapshot, 1e-6), 1, MAX_BATCH))

    def add(self, step: int, weights: np.ndarray, more_waiting: bool) -> None:
        self.pending.append((step, weights))
        if len(self.pending) >= self.budget or not more_waiting:
            self.flush()

    def flush(self) -> None:
        """Measure what is pending and answer each snapshot (a failed batch: each again alone)."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        started = time.process_time()
        try:
            measured = self._measure(batch)
        except Exception:  # noqa: BLE001 - the parent keeps training; whatever fails stays unknown
            measured = None
        seconds = time.process_time() - started
        if measured is None and len(batch) > 1:
            for one in batch:
                self.pending = [one]
                self.flush()
            return
        self.per_snapshot = seconds / len(batch)
        for i, (step, _) in enumerate(batch):
            # `seconds`: the whole batch, how long the parent heard nothing (its stall limit grows with it)
            self.stdout.write(self.wire.unreadable(step) if measured is None else
                              self.wire.reply(step, seconds, *(part[i] for part in measured)))
        self.stdout.flush()

    def _measure(self, batch: list[tuple[int, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(regions [K, seeds], density [K, seeds, 2], status [K, seeds, N]) of the batch."""
        seeds, wire = self.wire.seeds, self.wire
        regions, density, status = measure(np.concatenate([weights for _, weights in batch]), wire.sizes,
                                           wire.activation, self.near)
        k = len(batch)
        return regions.reshape(k, seeds), density.reshape(k, seeds, 2), status.reshape(k, seeds, wire.n_hidden)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The helper process: reads the header, then measures snapshots, in batches of those waiting, until END."""
    reader = PipeReader(stdin)
    wire, target = Wire.read_header(reader.read)
    batcher = Batcher(wire, target, stdout)
    stdout.write(wire.reply(Wire.READY, 0.0, *wire_zeros(wire)))
    stdout.flush()
    while (tag := int(np.frombuffer(reader.read(8), np.int64)[0])) != Wire.END:
        if tag == Wire.TARGET:  # snapshots before it are measured against the target they were trained on
            batcher.flush()
            batcher.near = near_edges(wire.read_target(reader.read))
        elif tag < 0:
            raise WireError(f"a message tag {tag}")
        else:
            batcher.add(tag, wire.read_weights(reader.read), reader.more_waiting())
    batcher.flush()


def main() -> int:
    die_with_parent()
    idle_only()
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return 0  # the parent ended
    except (WireError, ValueError) as exc:
        print(f"{HELPER_MODULE}: error: malformed input ({exc}); this helper is started by ginn-gl itself",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
