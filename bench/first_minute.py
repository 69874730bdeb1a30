"""What a newcomer sees first: runs `ginn-gl --seed 2` (the defaults) under an Xvfb of its own, with a
--frame-log, saves the view (S) at 2, 5 and 10 s after the first frame, closes it with Esc at 12 s, and
prints the seconds from the first frame to the first frame that shows a snapshot whose full-image loss
is at most 0.35 (the target's shape is recognisable), and the seconds from Esc to the saved run.

    python bench/first_minute.py [--source DIR] [--pace N] [--seconds 12]

--source runs another checkout's ginn-gl (PYTHONPATH=DIR), for a figure before and after a change.
Needs Xvfb and xdotool (Debian: apt install xvfb xauth xdotool).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from window_run import WindowRun, read_log, xdotool  # bench/window_run.py

from ginn_gl.core.runfile import load_run

TARGET_SECONDS, TARGET_LOSS, TARGET_CLOSE = 6.0, 0.35, 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", help="a ginn-gl checkout to run instead of the installed one")
    parser.add_argument("--pace", help="the window's --pace (default: its own default)")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--window", default="1600x1000")
    args = parser.parse_args()
    started = WindowRun("ginn-gl-first-minute-", args.window, ["--seed", "2", *(["--pace", args.pace] if args.pace
                                                                        else [])], args.source)
    window, folder, log, run_path = started.process, started.folder, started.log, started.run_path
    shots = []
    try:
        deadline = time.time() + 120
        while not read_log(log):
            if time.time() > deadline or window.poll() is not None:
                raise SystemExit(f"the window did not start: {window.stderr.read() if window.stderr else ''}")
            time.sleep(0.05)
        first = read_log(log)[0]["t"]
        window_id = xdotool("search", "--sync", "--name", "^ginn-gl").split()[0]
        xdotool("mousemove", "--window", window_id, "5", "5")  # over the window, hovering nothing
        for at in (2.0, 5.0, 10.0):
            time.sleep(max(0.0, first + at - time.time()))
            xdotool("windowfocus", "--sync", window_id)
            xdotool("key", "s")
            shots.append(at)
        time.sleep(max(0.0, first + args.seconds - time.time()))
        pressed = time.time()
        xdotool("key", "Escape")
        window.wait(timeout=120)
        closed = time.time() - pressed
    finally:
        started.kill_if_running()
    frames = read_log(log)
    run = load_run(run_path)
    loss = dict(zip(run.steps.tolist(), run.snap_loss.tolist()))
    shown = [(f["t"] - first, f["step"], loss.get(f["step"])) for f in frames if f["step"] is not None]
    good = [t for t, _, value in shown if value is not None and value <= TARGET_LOSS]
    opening = good[0] if good else float("inf")
    by_second = {int(t): (step, value) for t, step, value in shown}
    pictures = sorted((folder / "screenshots").glob("*.png")) if (folder / "screenshots").is_dir() else []
    print(f"ginn-gl --seed 2{' --pace ' + args.pace if args.pace else ''} (source {args.source or 'installed'}), "
          f"window {args.window}, under Xvfb: {len(frames)} frames in {frames[-1]['t'] - first:.1f} s")
    for second in range(0, int(args.seconds) + 1, 2):
        if second in by_second:
            step, value = by_second[second]
            print(f"  at {second:2d} s the view shows step {step:,}" + (f", loss {value:.3f}" if value else ""))
    ended = [f["t"] - first for f in frames if not f["training"]]
    if ended:
        print(f"the whole run ({int(run.steps[-1]):,} steps) trained in {ended[0]:.1f} s after the first frame")
    print(f"first frame to a shown snapshot with loss <= {TARGET_LOSS}: {opening:.1f} s (target <= {TARGET_SECONDS} s)")
    print(f"Esc to the saved run: {closed:.2f} s (target <= {TARGET_CLOSE} s); run state {run.meta['state']}, "
          f"{len(run)} snapshots to step {int(run.steps[-1]):,}")
    print(f"views saved at {', '.join(f'{s:g} s' for s in shots)}: {', '.join(map(str, pictures))}")
    ok = opening <= TARGET_SECONDS and closed <= TARGET_CLOSE
    print("all targets met" if ok else "NOT all targets met")
    if np.isinf(opening):
        sys.exit(1)


if __name__ == "__main__":
    main()
