"""What measuring every snapshot's exact geometry costs.

1. `ginn-gl train` wall time beside the training time its own summary reports, in one run each: the
   default run (`--seed 2`, 200,000 steps) and a short one (`--steps 20000`), where snapshots come
   fastest. The command runs in this process (torch imported beforehand, so the wall time is the
   command's own, from parsing its options to its last line: training, waiting for the geometry
   helper's last snapshots, saving); the ratio is what the geometry adds to a run.
2. The helper's measuring (core.exact.measure: partition, density and status) in ms per snapshot, one
   snapshot a call and in batches of 32, on every snapshot of that default run and on 32 snapshots
   of a 2-64x8-1 net, with linear regions counted per second.

    python bench/geometry_cost.py [--steps 200000,20000] [--skip-train] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import torch  # noqa: F401 - imported before the command is timed, as a started process has it

from ginn_gl.cli import main as ginn_gl
from ginn_gl.core.exact import measure, near_edges
from ginn_gl.core.network import describe
from ginn_gl.core.runfile import load_run


def timed_train(steps: int, out: Path) -> tuple[float, float, int]:
    """(wall seconds of `ginn-gl train --seed 2 --steps N`, the training seconds its summary reports,
    snapshots left unmeasured)."""
    printed = io.StringIO()
    stderr = os.dup(2)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)  # the progress bar
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(printed):
            status = ginn_gl(["train", "--seed", "2", "--steps", str(steps), "--out", str(out), "--overwrite"])
        wall = time.perf_counter() - started
    finally:
        os.dup2(stderr, 2)
        os.close(quiet)
    for sig in (signal.SIGINT, signal.SIGTERM):  # the command ignores signals once it has saved
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    found = re.search(r"steps in ([0-9.]+) s", printed.getvalue())
    if status != 0 or found is None:
        raise SystemExit(f"ginn-gl train failed ({status}): {printed.getvalue()}")
    return wall, float(found.group(1)), int((load_run(out).regions < 0).sum())


def ms_per_snapshot(weights: np.ndarray, sizes: list[int], activation: str, near: np.ndarray, batch: int,
                    repeats: int) -> tuple[float, int]:
    """(best of `repeats` ms per snapshot measuring `batch` snapshots a call, total regions)."""
    best, regions = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        regions = sum(int(measure(weights[i:i + batch], sizes, activation, near)[0].sum())
                      for i in range(0, len(weights), batch))
        best = min(best, time.perf_counter() - started)
    return 1e3 * best / len(weights), regions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="200000,20000", help="runs to time, by their steps")
    parser.add_argument("--skip-train", action="store_true", help="only the measuring; needs --run")
    parser.add_argument("--run", help="a default run's file to measure (else the 200,000-step one trained here)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ginn-gl-bench-"))
    run_path = Path(args.run) if args.run else None
    if not args.skip_train:
        print("| run | training (its summary) | wall time of `ginn-gl train` | wall / training | unmeasured |")
        print("|---|---:|---:|---:|---:|")
        for steps in (int(s) for s in args.steps.split(",")):
            out = folder / f"seed2-{steps}.npz"
            wall, training, unmeasured = timed_train(steps, out)
            print(f"| `--seed 2 --steps {steps}` | {training:.1f} s | {wall:.1f} s | {wall / training:.2f}x | "
                  f"{unmeasured} |", flush=True)
            run_path = run_path or out
    if run_path is None:
        raise SystemExit("give --run PATH with --skip-train")
    run = load_run(run_path)
    near = near_edges(run.target)
    print()
    print("| network | snapshots | regions / snapshot | 1 a call (ms / snapshot) | 32 a call (ms / snapshot) | "
          "regions / s (32 a call) |")
    print("|---|---:|---:|---:|---:|---:|")
    from partition_speed import snapshots  # bench/partition_speed.py: trained 2-64x8-1 snapshots

    wide = [2, *[64] * 8, 1]
    for sizes, activation, weights in ((run.layers, run.activation, run.weights),
                                       (wide, "relu", snapshots(wide, 1000))):
        alone, _ = ms_per_snapshot(weights[::max(1, len(weights) // 64)], sizes, activation, near, 1, args.repeats)
        many, regions = ms_per_snapshot(weights, sizes, activation, near, 32, args.repeats)
        print(f"| {describe(sizes)} | {len(weights)} | {regions / len(weights):,.0f} | {alone:.1f} | {many:.1f} | "
              f"{regions / len(weights) / many * 1e3:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
