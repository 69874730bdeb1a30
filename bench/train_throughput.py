"""Training throughput of ginn-gl's trainer beside a plain PyTorch loop, in one process.

The GINN setup: a 200x200 target, minibatches of 128 pixels sampled with replacement, Adam with
cosine decay, the 2-16-16-16-1 ReLU net. Ours runs through `Trainer`, the class `ginn-gl train`
and the window use, snapshots and loss recording included. Both use the same torch thread count.

    python bench/train_throughput.py [--image PATH] [--seconds 4] [--device cpu|cuda]

Prints a markdown table of steps/s and the ratios, then the snapshot overhead over a
1.28M-step schedule and the stop latency. What the geometry helper adds to a run: bench/geometry_cost.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ginn_gl.core.config import TrainConfig
from ginn_gl.core.network import grid_points
from ginn_gl.core.schedule import snapshot_steps
from ginn_gl.core.sources import load_target
from ginn_gl.train.engine import EngineSpec, StepEngine
from ginn_gl.train.model import cpu_threads, init_parameters, load_flat, reference_module
from ginn_gl.train.trainer import Trainer

GINN_STEPS = 1_280_000
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "gin.png"


def plain_loop(target: np.ndarray, batch: int, seconds: float, device: str) -> float:
    """Steps/s of the textbook loop: nn.Sequential, autograd, torch.optim.Adam, CosineAnnealingLR."""
    sizes = [2, 16, 16, 16, 1]
    model = load_flat(reference_module(sizes, "relu"), init_parameters(sizes, torch.Generator().manual_seed(0)))
    model = model.to(device)
    coords = torch.from_numpy(grid_points(*target.shape).astype(np.float32)).to(device)
    labels = torch.from_numpy(target.reshape(-1, 1).astype(np.float32)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=GINN_STEPS)
    n = len(coords)

    def step():
        if batch:
            idx = torch.randint(0, n, (batch,), device=device)
            x, y = coords[idx], labels[idx]
        else:
            x, y = coords, labels
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        return loss

    for _ in range(20):
        step()
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(10):
            loss = step()
        steps += 10
    loss.item()  # one sync at the end, as a loop that only logs rarely would
    if device == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def trainer_rate(image: str, batch: int, seeds: tuple[int, ...], seconds: float, device: str,
                 warmup_steps: int) -> tuple[float, Trainer]:
    """Steps/s of Trainer from step `warmup_steps` on, snapshots included as they fall.

    Every setup is measured over the same stretch of the schedule, past the dense start.
    """
    config = TrainConfig(image=image, resolution=200, batch_size=batch, seeds=seeds, steps=GINN_STEPS,
                         device=device)
    trainer = Trainer(config, load_target(image, 200)).start()
    while trainer.step < warmup_steps and trainer.alive:
        time.sleep(0.01)
    s0, t0 = trainer.step, time.perf_counter()
    time.sleep(seconds)
    s1, t1 = trainer.step, time.perf_counter()
    stop_started = time.perf_counter()
    trainer.stop()
    trainer.stop_latency = time.perf_counter() - stop_started
    return (s1 - s0) / (t1 - t0), trainer


def engine_step_us(image: str, seeds: tuple[int, ...], device: str, blocks: int = 12, batch: int = 128) -> float:
    """Microseconds per step of the step engine alone (no trainer, no snapshots): best of `blocks`."""
    engine = StepEngine(EngineSpec([2, 16, 16, 16, 1], "relu", list(seeds), batch), load_target(image, 200).pixels,
                        device)
    rates = np.full(engine.block, 1e-3)
    best = float("inf")
    for k in range(blocks):
        started = time.perf_counter()
        engine.prepare_block(k * engine.block, engine.block, rates)
        engine.run_block(engine.block)
        engine.block_losses(engine.block)
        if k >= 2:  # after CUDA graph capture and warm caches
            best = min(best, time.perf_counter() - started)
    return best / engine.block * 1e6


def snapshot_overhead(trainer: Trainer, rate: float) -> tuple[float, float, int]:
    """(seconds per snapshot, fraction of a 1.28M-step run spent on snapshots, snapshot count)."""
    for _ in range(3):
        trainer.engine.domain_loss()
    repeats = 20
    started = time.perf_counter()
    for _ in range(repeats):
        trainer.engine.parameters()
        trainer.engine.domain_loss()
    per_snapshot = (time.perf_counter() - started) / repeats
    count = len(snapshot_steps(GINN_STEPS))
    return per_snapshot, count * per_snapshot / (GINN_STEPS / rate), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=str(REFERENCE) if REFERENCE.exists() else "bottle")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    threads = cpu_threads()
    torch.set_num_threads(threads)
    target = load_target(args.image, 200).pixels
    print(f"device {args.device}, {threads} torch thread(s), torch {torch.__version__}, "
          f"image {Path(args.image).name}, 200x200")
    print()
    print("| setup | plain PyTorch loop (steps/s) | ginn-gl Trainer (steps/s) | ratio |")
    print("|---|---:|---:|---:|")
    rows = {}
    for label, batch in (("minibatch 128", 128), ("full batch (40,000 px)", 0)):
        seconds = args.seconds if batch else args.seconds * 2
        plain = plain_loop(target, batch, seconds, args.device)
        ours, trainer = trainer_rate(args.image, batch, (0,), seconds, args.device,
                                     warmup_steps=20_000 if batch else 300)
        rows[batch] = (ours, trainer)
        print(f"| {label} | {plain:,.0f} | {ours:,.0f} | {ours / plain:.2f}x |", flush=True)
    print()
    one = rows[128][0]
    four, _ = trainer_rate(args.image, 128, (0, 1, 2, 3), args.seconds, args.device, warmup_steps=20_000)
    print(f"several seeds, minibatch 128: 1 seed {one:,.0f} steps/s ({1e6 / one:.0f} us/step), "
          f"4 seeds {four:,.0f} steps/s ({1e6 / four:.0f} us/step): time per step "
          f"{one / four:.2f}x a single seed's, {4 * four / one:.2f}x the network-steps/s")
    alone = [engine_step_us(args.image, seeds, args.device) for seeds in ((0,), (0, 1, 2, 3))]
    print(f"the step engine alone, minibatch 128: 1 seed {alone[0]:.0f} us/step, 4 seeds {alone[1]:.0f} "
          f"us/step: {alone[1] / alone[0]:.2f}x")
    # One network on 4 x 128 rows does the four seeds' forward/backward arithmetic in one kernel per
    # layer, with no batching overhead at all: no way of batching four seeds can beat its ratio.
    wide = engine_step_us(args.image, (0,), args.device, batch=4 * 128)
    print(f"bound: 1 seed on minibatches of 512 (four seeds' rows, unbatched) {wide:.0f} us/step: "
          f"{wide / alone[0]:.2f}x")
    per_snapshot, fraction, count = snapshot_overhead(rows[128][1], one)
    print(f"snapshots over a {GINN_STEPS:,}-step schedule: {count} x {per_snapshot * 1e3:.2f} ms "
          f"= {fraction:.1%} of the steps' time")
    print(f"a whole GINN-length run ({GINN_STEPS:,} steps) at this rate: "
          f"{GINN_STEPS / one / 60:.1f} min")
    print(f"stop latency: {rows[128][1].stop_latency * 1e3:.1f} ms (minibatch), "
          f"{rows[0][1].stop_latency * 1e3:.1f} ms (full batch)")


if __name__ == "__main__":
    main()
