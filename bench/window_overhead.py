"""How much the open window slows training: one trainer, one window, in one process; phases of a
few seconds alternate between the window drawing frames (watching, or scrubbing with a key press
every 50 ms) and the window drawing nothing, so the trainer runs alone. Each drawing phase is
compared with the mean of the idle phases on either side of it, which cancels the machine's drift
and the run's own speed-up as snapshots grow sparser. Starts its own Xvfb. With --seeds 0,1,2,3 the
window is the grid of those seeds and the idle phases are what `ginn-gl train --seeds 0,1,2,3` runs
(the same trainer, its worker alone).

    python bench/window_overhead.py [--phase 2] [--cycles 8] [--interact] [--pace max] [--seeds 2]

The window trains at --pace (default max: as fast as the hardware goes, which it must not slow).
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time

from xvfb import start_xvfb  # bench/xvfb.py

from ginn_gl.cli.commands import prepare_process
from ginn_gl.cli.window import training_session
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.pace import parse_pace
from ginn_gl.core.sources import load_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", type=float, default=2.0, help="seconds of each phase")
    parser.add_argument("--cycles", type=int, default=8, help="drawing phases (each between two idle ones)")
    parser.add_argument("--interact", action="store_true")
    parser.add_argument("--image", default="bottle")
    parser.add_argument("--pace", default="max")
    parser.add_argument("--seeds", default="2", help="seeds trained together, side by side (default 2)")
    args = parser.parse_args()
    pace = parse_pace(args.pace)
    prepare_process(training=True, window=True)  # as `ginn-gl` does: torch and llvmpipe threads
    start_xvfb()
    from imgui_bundle import imgui

    from ginn_gl.ui.app import App
    from ginn_gl.ui.window import glfw

    seeds = tuple(int(seed) for seed in args.seeds.split(","))
    config = TrainConfig(image=args.image, steps=1_280_000, seeds=seeds)
    session = training_session(config, load_target(config.image, config.resolution), pace)
    app = App(session, title="bench", size=(1600, 1000))
    app.frame()  # the first frame compiles the shaders (seconds on llvmpipe): not part of the measure
    trainer = session.trainer.start()
    window = ctypes.cast(app.window.handle, ctypes.c_void_p).value
    time.sleep(args.phase)  # past the dense start

    def idle() -> float:
        first, started = trainer.step, time.perf_counter()
        time.sleep(args.phase)
        return (trainer.step - first) / (time.perf_counter() - started)

    def drawing() -> tuple[float, int]:
        first, frames, started = trainer.step, app.frames, time.perf_counter()
        next_key = started
        while time.perf_counter() - started < args.phase:
            if args.interact and time.perf_counter() >= next_key:  # Left for a second, Right for a second
                key = glfw.KEY_RIGHT if int(time.perf_counter() - started) % 2 else glfw.KEY_LEFT
                imgui.backends.glfw_key_callback(window, key, 0, glfw.PRESS, 0)  # as GLFW delivers it
                imgui.backends.glfw_key_callback(window, key, 0, glfw.RELEASE, 0)
                next_key += 0.05
            app.frame()
            app.wait_for_next_frame()
        return (trainer.step - first) / (time.perf_counter() - started), app.frames - frames

    alone = [idle()]
    ratios = []
    for _ in range(args.cycles):
        rate, frames = drawing()
        alone.append(idle())
        ratios.append(rate / ((alone[-2] + alone[-1]) / 2))
        print(f"alone {alone[-2]:,.0f} / window {rate:,.0f} steps/s ({frames} frames, {frames / args.phase:.1f}/s, "
              f"view {app.view_ms:.0f} ms) / alone {alone[-1]:,.0f}: {ratios[-1]:.1%}", flush=True)
    app.close()
    app.session.trainer.finish(None, wait=False)
    print(f"training seeds {args.seeds} with the window open ({'scrubbing' if args.interact else 'watching'}, pace "
          f"{args.pace}) runs at {statistics.median(ratios):.1%} of its speed alone (median of {len(ratios)} "
          f"phases of {args.phase:g} s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
