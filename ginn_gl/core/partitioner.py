"""Exact partitions (core.partition) for the window, from a process of their own.

Why a process: the partition of one snapshot is some 6 ms of small numpy operations that hold the GIL
throughout, and the training thread beside the window needs the GIL between its kernels; in a process
of its own the work runs beside both. The window asks before it draws a changed picture and reads the
answer after (a blocking read, which leaves the GIL). One request at a time. A request: int64 [count,
activation, sizes...], float64 rect [4], float32 weights [P]; an answer: float64 seconds, int64 counts
[V, R, N, S, T], then the Partition's arrays (FIELDS), raw.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
from collections.abc import Hashable
from typing import IO

import numpy as np

from ginn_gl.core.network import ACTIVATIONS, parameter_count
from ginn_gl.core.partition import Partition, partition
from ginn_gl.core.resources import child_ended, die_with_parent, start_child

MODULE = "ginn_gl.core.partitioner"
# The answer's arrays: dtype and shape in the counts (vertices V, regions R, neurons N, segments S, output T).
FIELDS = {"vertices": (np.float64, "V2"), "starts": (np.int64, "R"), "patterns": (np.bool_, "rN"),
          "slopes": (np.float64, "r2"), "intercepts": (np.float64, "r"), "areas": (np.float64, "r"),
          "neuron_segments": (np.float64, "S4"), "segment_neurons": (np.int32, "S"),
          "output_segments": (np.float64, "T4")}
Rect = tuple[float, float, float, float]


def view_rect(domain: Rect) -> Rect:
    """The rectangle a view's partition covers: the view's and [0,1]^2 together, so a region's area and
    outline in the picture are whole at any zoom, and zooming or panning inside the picture reuses it."""
    x0, y0, x1, y1 = domain
    return min(x0, 0.0), min(y0, 0.0), max(x1, 1.0), max(y1, 1.0)


class Partitioner:
    """The worker process, from the window's side: request(), then result() (None until it answers)."""

    def __init__(self) -> None:
        self.process = start_child(MODULE)
        self.pending: tuple[Hashable, list[int], str, Rect, np.ndarray] | None = None  # (token, what was asked)
        self.seconds = 0.0  # the worker's own time for its last answer
        self.failed = False  # it died or answered garbage: callers compute in their own process

    def request(self, token: Hashable, flat: np.ndarray, sizes: list[int], activation: str, rect: Rect) -> bool:
        """Ask for a partition (an unread answer is read and dropped first); False if the worker cannot."""
        if self.pending is not None:
            self.result(timeout=None)
        if self.failed:
            return False
        header = np.array([len(sizes), list(ACTIVATIONS).index(activation), *sizes], np.int64)
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(header.tobytes() + np.array(rect, np.float64).tobytes()
                                     + np.ascontiguousarray(flat, np.float32).tobytes())
            self.process.stdin.flush()
        except (OSError, ValueError):
            self.failed = True
            return False
        self.pending = (token, list(sizes), activation, rect, np.array(flat, np.float64))
        return True

    def result(self, timeout: float | None) -> tuple[Hashable, Partition] | None:
        """(token, partition) of the pending request, once its answer starts within `timeout` s (None: wait)."""
        if self.pending is None or self.failed:
            return None
        stream = self.process.stdout
        assert stream is not None
        if timeout is not None and not select.select([stream], [], [], max(timeout, 0.0))[0]:
            return None
        token, sizes, activation, rect, flat = self.pending
        self.pending = None
        try:
            self.seconds = float(np.frombuffer(_exactly(stream, 8), np.float64)[0])
            counts = dict(zip("VRNST", (int(v) for v in np.frombuffer(_exactly(stream, 40), np.int64))))
            counts["r"] = counts["R"] - 1
            arrays: dict[str, np.ndarray] = {}
            for name, (dtype, shape) in FIELDS.items():
                dims = [counts[c] if c in counts else int(c) for c in shape]
                size = int(np.prod(dims)) * np.dtype(dtype).itemsize
                arrays[name] = np.frombuffer(_exactly(stream, size), dtype).reshape(dims).copy()
        except (OSError, ValueError, EOFError):
            self.failed = True
            return None
        return token, Partition(**arrays, flat=flat, sizes=tuple(sizes), activation=activation, rect=rect)

    def close(self) -> None:
        child_ended(self.process)
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:  # a dead worker's input still held a request
                pass
        try:
            self.process.wait(0.5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ShownPartition:
    """The partition of the snapshot a view shows, over view_rect(): asked for again only when the
    snapshot (its `key`) or that rectangle changes; from a shared worker, else computed here."""

    def __init__(self, worker: Partitioner | None = None):
        self.worker = worker
        self.key: Hashable = None  # (snapshot key, rect) of `part`
        self.part: Partition | None = None
        self.asked: Hashable = None  # (snapshot key, rect) asked of the worker, not answered yet
        self.seconds = 0.0  # what the last partition took (the worker's own time, or here)

    def ask(self, key: Hashable, flat: np.ndarray, sizes: list[int], activation: str, domain: Rect) -> None:
        """Start computing it, unless it is known or asked for (without a worker: compute it now)."""
        want = (key, view_rect(domain))
        if want == self.key or (want == self.asked and self.worker is not None and self.worker.pending is not None
                                and self.worker.pending[0] is self):
            return
        if self.worker is not None and self.worker.request(self, flat, sizes, activation, want[1]):
            self.asked = want
            return
        self._here(flat, sizes, activation, want)

    def _here(self, flat: np.ndarray, sizes: list[int], activation: str, want: tuple[Hashable, Rect]) -> None:
        started = time.perf_counter()
        self.part, self.key, self.asked = partition(flat, sizes, activation, want[1]), want, None
        self.seconds = time.perf_counter() - started

    def get(self, key: Hashable, flat: np.ndarray, sizes: list[int], activation: str, domain: Rect,
            timeout: float | None = None) -> Partition | None:
        """The partition, waiting up to `timeout` s for the worker (None: as long as it takes)."""
        self.ask(key, flat, sizes, activation, domain)
        want = (key, view_rect(domain))
        worker = self.worker
        if want != self.key and worker is not None and worker.pending is not None and worker.pending[0] is self:
            answer = worker.result(timeout)
            if answer is not None:
                self.part, self.key, self.asked, self.seconds = answer[1], self.asked, None, worker.seconds
        if want != self.key and worker is not None and worker.failed:  # never again from it: here, now
            self._here(flat, sizes, activation, want)
        return self.part if self.key == want else None


def _exactly(stream: IO[bytes], count: int) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise EOFError
    return data


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The worker: answers each request with its partition until its input closes."""
    while header := stdin.read(16):
        count, activation = (int(v) for v in np.frombuffer(header + _exactly(stdin, 16 - len(header)), np.int64))
        sizes = [int(v) for v in np.frombuffer(_exactly(stdin, 8 * count), np.int64)]
        x0, y0, x1, y1 = (float(v) for v in np.frombuffer(_exactly(stdin, 32), np.float64))
        flat = np.frombuffer(_exactly(stdin, 4 * parameter_count(sizes)), np.float32)
        started = time.process_time()
        part = partition(flat, sizes, list(ACTIVATIONS)[activation], (x0, y0, x1, y1))
        counts = [len(part.vertices), len(part.starts), part.patterns.shape[1], len(part.neuron_segments),
                  len(part.output_segments)]
        seconds = time.process_time() - started
        stdout.write(np.array([seconds], np.float64).tobytes() + np.array(counts, np.int64).tobytes())
        for name, (dtype, _) in FIELDS.items():
            stdout.write(np.ascontiguousarray(getattr(part, name), dtype).tobytes())
        stdout.flush()


if __name__ == "__main__":
    die_with_parent()
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except (EOFError, BrokenPipeError, KeyboardInterrupt, ValueError):
        pass
