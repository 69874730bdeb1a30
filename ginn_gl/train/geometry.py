"""The geometry of a ReLU network on its target's pixel centres, per snapshot: how many linear regions
(distinct activation patterns) the picture holds, how many neuron boundaries pass near each pixel
(near the target's edges and elsewhere), and which neurons are dead, always on, or switching.

Vectorised torch on the trainer's device. Every hidden neuron's sign at every pixel is packed into
a few 64-bit words per pixel (52 neurons a word, so the packing is exact in float64), so a pattern
is a short row of integers: regions are its distinct rows; a boundary passes within r of a pixel
where its word differs from a neighbour's within r (XOR, OR), counted by a population count.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import torch

from ginn_gl.core.network import LEAKY_SLOPE, grid_points, parameter_count, split_parameters
from ginn_gl.train.engine import CUDA_CAPTURE_LOCK

BITS = 52  # neurons a word holds: a float64 sum of distinct powers of two below 2^52 is exact
RADIUS = 2  # pixels: "near" for the boundary density
DEAD, ALWAYS_ON, SWITCHING = 0, 1, 2  # a neuron's status on the target's pixel centres (core.lifecycle)
CHUNK = 8192  # pixels a pass (activations stay in cache on a CPU)


def disc_offsets(radius: int = RADIUS) -> list[tuple[int, int]]:
    """(dy, dx) of the pixels within `radius` of a pixel (Euclidean), itself excluded."""
    return [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)
            if 0 < dy * dy + dx * dx <= radius * radius]


def _shift_pairs(height: int, width: int, dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices (here, there) pairing each pixel with its neighbour at (dy, dx), where both exist."""
    here = (slice(max(0, -dy), height - max(0, dy)), slice(max(0, -dx), width - max(0, dx)))
    there = (slice(max(0, dy), height + min(0, dy)), slice(max(0, dx), width + min(0, dx)))
    return here, there


def near_changes(words: torch.Tensor) -> torch.Tensor:
    """[..., H, W, K] words -> the same shape, bit set where that neuron's sign differs between the
    pixel and some pixel within RADIUS of it."""
    height, width = words.shape[-3], words.shape[-2]
    changed = torch.zeros_like(words)
    for dy, dx in disc_offsets():
        here, there = _shift_pairs(height, width, dy, dx)
        changed[..., here[0], here[1], :] |= words[..., here[0], here[1], :] ^ words[..., there[0], there[1], :]
    return changed


def popcount(x: torch.Tensor) -> torch.Tensor:
    """Set bits of each int64 below 2^62 (SWAR, shifts and adds only: no overflow)."""
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    x = x + (x >> 8)
    x = x + (x >> 16)
    x = x + (x >> 32)
    return x & 0x7F


class GeometryProbe:
    """Computes (regions, density near the edges and elsewhere, neuron status) of snapshots."""

    def __init__(self, target: np.ndarray, sizes: list[int], activation: str, device: torch.device):
        self.sizes = list(sizes)
        self.relu = activation == "relu"
        self.device = torch.device(device)
        self.height, self.width = target.shape
        points = grid_points(self.height, self.width).astype(np.float32)
        self.points = torch.from_numpy(points).to(self.device)
        widths = sizes[1:-1]
        self.n_hidden = sum(widths)
        self.n_words = -(-self.n_hidden // BITS)
        # Each neuron's place: word index and its power of two within the word.
        index = np.arange(self.n_hidden)
        powers = np.zeros((self.n_hidden, self.n_words), dtype=np.float64)
        powers[index, index // BITS] = 2.0 ** (index % BITS)
        self.powers = torch.from_numpy(powers).to(self.device)
        edge = torch.from_numpy(target.astype(np.int64)).to(self.device)[..., None]
        self.near_edge = near_changes(edge)[..., 0] != 0  # pixels within RADIUS of the target's edges
        self.edge_pixels = max(int(self.near_edge.sum()), 1)
        self.other_pixels = max(self.height * self.width - int(self.near_edge.sum()), 1)

    def patterns(self, weights: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Each pixel centre's activation pattern packed into words, int64 [seeds, H*W, K], and each
        neuron's count of active pixels, int64 [seeds, N]. Packed chunk by chunk, so no [pixels x
        neurons] array is ever whole (four seeds' would not fit in a CPU's cache)."""
        weights = np.atleast_2d(np.asarray(weights, dtype=np.float32))
        seeds, pixels = len(weights), len(self.points)
        words = torch.zeros(seeds, pixels, self.n_words, dtype=torch.float64, device=self.device)
        active = torch.zeros(seeds, self.n_hidden, dtype=torch.float64, device=self.device)
        for s, flat in enumerate(weights):
            layers = [(torch.from_numpy(np.ascontiguousarray(w)).to(self.device),
                       torch.from_numpy(np.ascontiguousarray(b)).to(self.device))
                      for w, b in split_parameters(flat, self.sizes)[:-1]]
            for start in range(0, pixels, CHUNK):
                a = self.points[start:start + CHUNK]
                column = 0
                for w, b in layers:
                    z = torch.addmm(b, a, w.t())
                    on = (z > 0).to(torch.float64)
                    words[s, start:start + len(a)].addmm_(on, self.powers[column:column + len(b)])
                    active[s, column:column + len(b)] += on.sum(dim=0)
                    column += len(b)
                    a = torch.relu(z) if self.relu else torch.nn.functional.leaky_relu(z, LEAKY_SLOPE)
        return words.to(torch.int64), active.to(torch.int64)

    def measure(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per seed: regions int32 [seeds], density float32 [seeds, 2] (near the target's edges, elsewhere),
        status int8 [seeds, N] (DEAD, ALWAYS_ON, SWITCHING)."""
        words, active_pixels = self.patterns(weights)
        seeds, pixels = words.shape[0], words.shape[1]
        regions = np.array([torch.unique(words[s], dim=0).shape[0] if self.n_words > 1 else
                            torch.unique(words[s, :, 0]).numel() for s in range(seeds)], dtype=np.int32)
        grid = words.view(seeds, self.height, self.width, self.n_words)
        near = popcount(near_changes(grid)).sum(dim=-1).to(torch.float64)  # [seeds, H, W] boundaries near
        edge = (near * self.near_edge).sum(dim=(1, 2)) / self.edge_pixels
        other = (near * ~self.near_edge).sum(dim=(1, 2)) / self.other_pixels
        density = torch.stack([edge, other], dim=1).cpu().numpy().astype(np.float32)
        status = torch.full(active_pixels.shape, SWITCHING, dtype=torch.int8, device=self.device)
        status[active_pixels == 0] = DEAD
        status[active_pixels == pixels] = ALWAYS_ON
        return regions, density, status.cpu().numpy()


class GeometryWorker:
    """Measures each snapshot's geometry beside training, which never waits for it, and writes it
    into the histories. On a CPU it runs in a helper process (`python -m ginn_gl.train.geometry`) on
    the core training leaves free: in a thread it would take the GIL from the training loop's Python
    between kernels (40% slower). On a GPU it runs in a thread, whose few large kernels release the GIL."""

    def __init__(self, target: np.ndarray, sizes: list[int], activation: str, device: torch.device,
                 histories: list, enabled: bool = True):
        self.histories = histories
        self.enabled = enabled  # off only to measure what it costs (bench/train_throughput.py)
        self.error: str | None = None
        self.pending = 0
        self.seeds = len(histories)
        self.n_hidden = sum(sizes[1:-1])
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._measuring: threading.Thread | None = None  # the thread that runs torch (on a GPU)
        if not enabled:
            return
        if torch.device(device).type == "cuda":
            probe = GeometryProbe(target, sizes, activation, device)
            self._measuring = threading.Thread(target=self._serve_thread, args=(probe,), daemon=True,
                                               name="ginn-gl-geometry")
            self._measuring.start()
            return
        # A session of its own: Ctrl+C and a closed terminal reach the parent only, which decides; the
        # helper ends when its input closes.
        self.process = subprocess.Popen([sys.executable, "-m", "ginn_gl.train.geometry"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        header = np.array([*target.shape, len(sizes), int(activation == "relu"), self.seeds, *sizes], dtype=np.int64)
        self._queue.put(np.array([len(header)], dtype=np.int64).tobytes() + header.tobytes()
                        + np.ascontiguousarray(target, dtype=np.uint8).tobytes())
        threading.Thread(target=self._send_loop, daemon=True, name="ginn-gl-geometry-send").start()
        threading.Thread(target=self._receive_loop, daemon=True, name="ginn-gl-geometry").start()

    def submit(self, step: int, weights: np.ndarray) -> None:
        if self.enabled:
            with self._lock:
                self.pending += 1
            # A plain numpy copy: an array that wraps a torch tensor, freed by a daemon thread while
            # Python exits, takes the GIL back inside torch's C++ and aborts the process.
            self._queue.put((step, np.array(weights, dtype=np.float32, order="C")))

    def _record(self, step: int, regions: np.ndarray, density: np.ndarray, status: np.ndarray) -> None:
        for s, history in enumerate(self.histories):
            history.set_geometry(step, int(regions[s]), density[s], status[s])

    def _done(self) -> None:
        with self._lock:
            self.pending -= 1

    def _serve_thread(self, probe: GeometryProbe) -> None:
        while (item := self._queue.get()) is not None:
            step, weights = item
            try:
                with CUDA_CAPTURE_LOCK:  # never while the trainer captures a CUDA graph
                    measured = probe.measure(weights)
                self._record(step, *measured)
            except Exception as exc:  # noqa: BLE001 - training goes on; this geometry stays unknown
                self.error = repr(exc)
            self._done()

    def _send_loop(self) -> None:
        """Writes to the helper from a thread of its own: a helper still starting never blocks training."""
        try:
            while (item := self._queue.get()) is not None:
                if isinstance(item, bytes):
                    self.process.stdin.write(item)
                else:
                    step, weights = item
                    self.process.stdin.write(np.array([step], dtype=np.int64).tobytes() + weights.tobytes())
                self.process.stdin.flush()
            self.process.stdin.write(np.array([-1], dtype=np.int64).tobytes())
            self.process.stdin.close()
        except OSError as exc:  # the helper is gone: the geometry stays unknown
            self.error = repr(exc)
            with self._lock:
                self.pending = 0

    def _receive_loop(self) -> None:
        reply = _reply_bytes(self.seeds, self.n_hidden)
        stream = self.process.stdout
        while len(data := stream.read(reply)) == reply:
            step, regions, density, status = _decode_reply(data, self.seeds, self.n_hidden)
            if step >= 0:
                self._record(step, regions, density, status)
            self._done()
        with self._lock:
            self.pending = 0  # the helper ended: nothing more will come

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every submitted snapshot is measured (at most `timeout` s); True when done."""
        deadline = time.perf_counter() + timeout
        while self.pending and time.perf_counter() < deadline:
            time.sleep(0.005)
        return not self.pending

    def close(self) -> None:
        """The helper measures what it was sent, then ends (it never outlives its parent's pipes)."""
        if self.enabled:
            self._queue.put(None)

    def finish(self, timeout: float = 2.0) -> None:
        """Once the runs are saved: drop what is not measured yet and wait (at most `timeout` s) for a
        measuring thread in torch to end; one still inside torch while Python exits aborts the process."""
        if not self.enabled:
            return
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        self._queue.put(None)
        if self._measuring is not None:
            self._measuring.join(timeout)


def _reply_bytes(seeds: int, n_hidden: int) -> int:
    return 8 + seeds * (4 + 8 + n_hidden)


def _decode_reply(data: bytes, seeds: int, n_hidden: int):
    step = int(np.frombuffer(data, np.int64, 1)[0])
    regions = np.frombuffer(data, np.int32, seeds, 8)
    density = np.frombuffer(data, np.float32, 2 * seeds, 8 + 4 * seeds).reshape(seeds, 2)
    status = np.frombuffer(data, np.int8, seeds * n_hidden, 8 + 12 * seeds).reshape(seeds, n_hidden)
    return step, regions, density, status


def _read_exactly(stream, count: int) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise EOFError
    return data


def idle_only() -> None:
    """Run on idle time only: where cores are few, training and the window come first (Linux:
    SCHED_IDLE; elsewhere the lowest nice)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        if hasattr(os, "nice"):
            os.nice(19)


def serve(stdin=None, stdout=None) -> None:
    """The helper process: reads the target and the network's shape, then (step, weights) after
    (step, weights); writes (step, regions, density, status) for each (step -1: unknown)."""
    stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
    torch.set_num_threads(1)
    idle_only()
    length = int(np.frombuffer(_read_exactly(stdin, 8), np.int64)[0])
    header = np.frombuffer(_read_exactly(stdin, 8 * length), np.int64)
    height, width, n_layers, relu, seeds = (int(v) for v in header[:5])
    sizes = [int(v) for v in header[5:5 + n_layers]]
    target = np.frombuffer(_read_exactly(stdin, height * width), np.uint8).reshape(height, width)
    probe = GeometryProbe(target, sizes, "relu" if relu else "leaky_relu", torch.device("cpu"))
    n_params = parameter_count(sizes)
    while (step := int(np.frombuffer(_read_exactly(stdin, 8), np.int64)[0])) >= 0:
        weights = np.frombuffer(_read_exactly(stdin, 4 * seeds * n_params), np.float32).reshape(seeds, n_params)
        try:
            regions, density, status = probe.measure(weights)
        except Exception:  # noqa: BLE001 - the parent keeps training; this geometry stays unknown
            step, regions = -1, np.full(seeds, -1, np.int32)
            density, status = np.zeros((seeds, 2), np.float32), np.zeros((seeds, probe.n_hidden), np.int8)
        stdout.write(np.array([step], np.int64).tobytes() + regions.astype(np.int32).tobytes()
                     + density.astype(np.float32).tobytes() + status.astype(np.int8).tobytes())
        stdout.flush()


if __name__ == "__main__":
    try:
        serve()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent ended
