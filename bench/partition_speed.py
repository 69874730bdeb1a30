"""Milliseconds per snapshot of the exact linear partition (ginn_gl.core.partition): one snapshot a
call, and 32 in one partitions() call, on the default 2-16-16-16-1 ReLU net and on 2-64x8-1.

The snapshots are real: four seeds trained on the built-in rings target with the step engine,
eight snapshots each from the last eight blocks of 100 steps (a trained net has more regions than
a fresh one, and the count grows with training).

    python bench/partition_speed.py [--steps 3200] [--big-steps 1000] [--repeats 5]

Prints a markdown table: regions per snapshot, ms per snapshot at K = 1 and K = 32 (best of the
repeats), and regions counted per second at K = 32. A wide net's 32 go a few per pass (PASS_BUDGET).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ginn_gl.core.network import describe
from ginn_gl.core.partition import partitions
from ginn_gl.core.sources import load_target
from ginn_gl.train.engine import EngineSpec, StepEngine

SEEDS = (0, 1, 2, 3)
BLOCK = 100


def snapshots(sizes: list[int], steps: int) -> np.ndarray:
    """[32, P]: each seed's parameters after each of the last eight blocks."""
    engine = StepEngine(EngineSpec(sizes, "relu", list(SEEDS), 64, block=BLOCK), load_target("rings", 64).pixels)
    kept = []
    for first in range(0, steps, BLOCK):
        engine.prepare_block(first, BLOCK, np.full(BLOCK, 1e-2))
        engine.run_block(BLOCK)
        if first >= steps - 8 * BLOCK:
            kept.append(np.array(engine.parameters(), dtype=np.float32))
    return np.concatenate(kept)


def ms_per_snapshot(weights: np.ndarray, sizes: list[int], batches: tuple[int, ...], repeats: int) -> list[float]:
    """Per batch size, the best of `repeats` passes over all snapshots, that many a call; the batch
    sizes take turns, so a machine busy with something else slows them alike."""
    best = [float("inf")] * len(batches)
    for _ in range(repeats):
        for i, batch in enumerate(batches):
            started = time.perf_counter()
            for first in range(0, len(weights), batch):
                partitions(weights[first:first + batch], sizes, "relu")
            best[i] = min(best[i], time.perf_counter() - started)
    return [1e3 * seconds / len(weights) for seconds in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3200, help="training steps of the default net")
    parser.add_argument("--big-steps", type=int, default=1000, help="training steps of 2-64x8-1")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"numpy {np.__version__}, one process; snapshots trained on rings, 4 seeds x 8 blocks")
    print()
    print("| network | regions / snapshot | K = 1 (ms / snapshot) | K = 32 (ms / snapshot) | regions / s (K = 32) |")
    print("|---|---:|---:|---:|---:|")
    for sizes, steps in (([2, 16, 16, 16, 1], args.steps), ([2, *[64] * 8, 1], args.big_steps)):
        weights = snapshots(sizes, max(steps, 8 * BLOCK))
        regions = np.mean([p.count for p in partitions(weights, sizes, "relu")])
        one, many = ms_per_snapshot(weights, sizes, (1, 32), args.repeats)
        print(f"| {describe(sizes)} | {regions:,.0f} | {one:,.1f} | {many:,.1f} | {regions / many * 1e3:,.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
