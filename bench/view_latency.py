"""Is live training worth watching on this machine? Runs the real `ginn-gl` window under an Xvfb of
its own, with `--frame-log`, and measures from the log what a user sees:

- smoothness: while following live, how far the picture moves from one frame to the next (the mean
  |p - p before| over the target's pixels between the snapshots two frames show, in percent of the
  picture): the pace is in visible change per second, so quiet stretches may pass between frames
  but no frame should jump (95th percentile);
- coverage: the share of the snapshots recorded while training that the view shows at least once
  (information only: the pace passes quickly over snapshots that change little);
- lag: while following live, how many snapshots the one shown is behind the newest (median);
- latency: after training has finished, from an X key event (Right, sent by xdotool) to the first
  presented frame that shows the next snapshot (median over --presses).

    python bench/view_latency.py [--steps 20000] [--pace 40] [--presses 12] [--window 1600x1000]

Needs Xvfb and xdotool (Debian: apt install xvfb xauth xdotool). Prints the figures and the targets.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from window_run import WindowRun, read_log, xdotool  # bench/window_run.py

from ginn_gl.core.network import evaluate
from ginn_gl.core.pace import DEFAULT_PACE
from ginn_gl.core.runfile import load_run
from ginn_gl.core.targets import target_points

TARGETS = {"jump_percent": 5.0, "lag": 2, "latency_ms": 150}  # a frame moves at most 5% of the picture (p95)


def wait_for(predicate, log: Path, timeout: float) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        frames = read_log(log)
        if predicate(frames):
            return frames
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for the window ({log})")


def frame_jumps(run, shown_steps: list[int]) -> np.ndarray:
    """Percent of the picture that changes between the snapshots consecutive frames show (0: the same one)."""
    points = target_points(run.target.shape)
    index = np.searchsorted(run.steps, shown_steps)
    probability = {i: evaluate(run.weights[i], run.layers, run.activation, points).probability
                   for i in np.unique(index)}
    return np.array([100 * np.abs(probability[b] - probability[a]).mean() if a != b else 0.0
                     for a, b in zip(index[:-1], index[1:])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--pace", default=f"{DEFAULT_PACE:g}")
    parser.add_argument("--presses", type=int, default=12)
    parser.add_argument("--window", default="1600x1000")
    args = parser.parse_args()
    started = WindowRun("ginn-gl-latency-", args.window, ["--seed", str(args.seed), "--steps", str(args.steps),
                                                           "--pace", args.pace])
    window, log, run_path = started.process, started.log, started.run_path
    try:
        frames = wait_for(lambda f: any(not r["training"] for r in f[1:]), log, timeout=600)
        time.sleep(1.0)  # let the view settle at full resolution
        window_id = xdotool("search", "--sync", "--name", "^ginn-gl").split()[0]
        xdotool("windowfocus", "--sync", window_id)
        xdotool("mousemove", "--window", window_id, "5", "5")  # over the window, hovering nothing
        xdotool("key", "Home")
        time.sleep(1.0)
        presses = []
        for _ in range(args.presses):
            before = read_log(log)[-1]["step"]
            sent = time.time()
            xdotool("key", "Right")
            presses.append((sent, before))
            time.sleep(0.7)  # the view refines to full resolution between presses
        xdotool("key", "Escape")
        window.wait(timeout=60)
    finally:
        started.kill_if_running()
    frames = read_log(log)
    run = load_run(run_path)
    steps = run.steps
    training = [f for f in frames if f["training"]]
    shown = {f["step"] for f in training}
    recorded = steps[steps <= max(f["newest"] for f in training)]
    coverage = np.isin(recorded, list(shown)).mean()
    jumps = frame_jumps(run, [f["step"] for f in training if f["following"]])
    lags = [int(np.searchsorted(steps, f["newest"]) - np.searchsorted(steps, f["step"]))
            for f in training if f["following"]]
    latencies = []
    for sent, before in presses:
        wanted = int(steps[min(np.searchsorted(steps, before) + 1, len(steps) - 1)])
        after = [f for f in frames if f["t"] > sent and f["step"] == wanted]
        if after:
            latencies.append((after[0]["t"] - sent) * 1000)
    seconds = training[-1]["t"] - training[0]["t"]
    figures = {
        "jump_percent": float(np.percentile(jumps, 95)) if len(jumps) else float("inf"),
        "lag": float(np.median(lags)),
        "latency_ms": float(np.median(latencies)) if latencies else float("inf"),
    }
    print(f"ginn-gl --seed {args.seed} --steps {args.steps:,} --pace {args.pace}, window {args.window}, "
          f"under Xvfb: {len(training)} frames while training ({len(training) / seconds:.1f}/s over {seconds:.1f} s), "
          f"{len(recorded)} snapshots recorded")
    drawn = [f["view_ms"] for f in training if f["view_ms"] is not None]
    print(f"frames while training: frame_ms median {np.median([f['frame_ms'] for f in training]):.1f}, view_ms "
          f"median {np.median(drawn) if drawn else float('nan'):.1f} over {len(drawn)} redrawn frames, scale median "
          f"{np.median([f['scale'] for f in training]):.3f}")
    moving = jumps[jumps > 0]
    print(f"smoothness: following live, a frame moves the picture by {np.median(moving):.2f}% (median of the "
          f"{len(moving)} frames that show a new snapshot), {figures['jump_percent']:.2f}% at the 95th percentile, "
          f"{jumps.max():.2f}% at most (target p95 <= {TARGETS['jump_percent']:g}%)")
    print(f"coverage: {coverage:.1%} of the snapshots recorded while training appear in the view "
          f"(information: quiet stretches pass between frames)")
    print(f"lag: median {figures['lag']:.0f} snapshots behind the newest while following live, mean "
          f"{np.mean(lags):.2f} (target <= {TARGETS['lag']})")
    print(f"latency: Right key to the frame showing the next snapshot, median {figures['latency_ms']:.0f} ms over "
          f"{len(latencies)} of {len(presses)} presses, range {min(latencies, default=0):.0f}-"
          f"{max(latencies, default=0):.0f} ms (target <= {TARGETS['latency_ms']} ms)")
    met = (figures["jump_percent"] <= TARGETS["jump_percent"] and figures["lag"] <= TARGETS["lag"]
           and figures["latency_ms"] <= TARGETS["latency_ms"] and len(latencies) == len(presses))
    print("all targets met" if met else "NOT all targets met")


if __name__ == "__main__":
    main()
