"""What recording costs a user's own training loop, and how much the live window of ginn_gl.watch
slows it, in one run: a plain PyTorch loop (nn.Sequential 2-16-16-16-1, Adam 1e-3, BCE on minibatches
of 128 pixels of the 200x200 bottle) trains in phases of a few seconds that take turns: no recording;
ginn_gl.watch recording with its viewer process stopped (SIGSTOP: the window draws nothing, so this
is the Recorder alone: the sender only blocks on a full pipe); and the same with the viewer running,
drawing every snapshot as it arrives. Medians of the phases' steps/s. Then record()'s cost a call,
off the snapshot schedule and on it. Starts its own Xvfb.

    python bench/watch_overhead.py [--phase 3] [--cycles 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

from xvfb import start_xvfb  # bench/xvfb.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", type=float, default=3.0, help="seconds of each phase")
    parser.add_argument("--cycles", type=int, default=5, help="rounds of the three phases")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the user's loop (default 1)")
    args = parser.parse_args()
    start_xvfb()
    import torch

    import ginn_gl

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    rec = ginn_gl.watch(model, image="bottle", title="watch bench")
    pixels = torch.as_tensor(rec._target.pixels.reshape(-1), dtype=torch.float32)
    height, width = rec._target.pixels.shape
    ys, xs = torch.meshgrid((torch.arange(height) + 0.5) / height, (torch.arange(width) + 0.5) / width, indexing="ij")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
    step = 0

    def train(seconds: float, record: bool) -> float:
        nonlocal step
        first, started = step, time.perf_counter()
        while time.perf_counter() - started < seconds:
            batch = torch.randint(0, len(points), (128,))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(points[batch])[:, 0], pixels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            if record:
                rec.record(step, loss)
        return (step - first) / (time.perf_counter() - started)

    deadline = time.perf_counter() + 60
    while not rec.window_open and time.perf_counter() < deadline:
        time.sleep(0.1)
    assert rec.window_open, "the window did not open"
    viewer = rec._process
    assert viewer is not None
    train(args.phase, record=True)  # past the dense start, the window's shaders compiled
    rates: dict[str, list[float]] = {"plain loop": [], "recording, window stopped": [], "recording, window live": []}
    for _ in range(args.cycles):
        os.kill(viewer.pid, signal.SIGSTOP)
        rates["plain loop"].append(train(args.phase, record=False))
        rates["recording, window stopped"].append(train(args.phase, record=True))
        os.kill(viewer.pid, signal.SIGCONT)
        rates["recording, window live"].append(train(args.phase, record=True))
    print(f"steps {step:,}, {rec.snapshots} snapshots, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} cores")
    base = statistics.median(rates["recording, window stopped"])
    for name, values in rates.items():
        print(f"{name:28s} median {statistics.median(values):8,.0f} steps/s  "
              f"({', '.join(f'{v:,.0f}' for v in values)})  {statistics.median(values) / base:.3f}x the Recorder alone")
    rec.close()
    viewer.kill()
    record_costs(model, args.threads)


def record_costs(model, threads: int) -> None:
    """record()'s cost a call with a float loss and with a tensor loss: off the schedule (a long run's
    typical call) and on it (a snapshot: weights, the full-image loss on 40,000 pixels)."""
    import torch

    import ginn_gl

    rec = ginn_gl.Recorder(model, image="bottle", geometry=False)
    loss = torch.tensor(0.5, requires_grad=True) * 1.0
    calls = 200_000
    first = 10_000_000
    for name, value in (("a float loss", 0.5), ("a tensor loss", loss)):
        rec._next = 1 << 62  # every call off the schedule
        started = time.perf_counter()
        for step in range(first, first + calls):
            rec.record(step, value)
        off = (time.perf_counter() - started) / calls
        first += calls
        on = []
        for step in range(first, first + 200):
            rec._next = 0  # this call on the schedule
            started = time.perf_counter()
            rec.record(step, value)
            on.append(time.perf_counter() - started)
        first += 200
        print(f"record() with {name}: {off * 1e6:.2f} us a call off the schedule, {statistics.median(on) * 1e3:.2f} ms "
              f"on it (a snapshot; median of 200), torch threads {threads}")
    rec.close()


if __name__ == "__main__":
    main()
