"""What crisp lines cost on a CPU rasteriser: one trainer at full speed beside the window (as
bench/window_overhead.py runs them, under an Xvfb of its own), phases alternating between the reduced
picture's lines drawn as geometry (the partition from the worker process) and the shader's soft lines
(the geometry switched off), each phase's frame and view milliseconds and training steps/s compared.

    python bench/crisp_lines.py [--phase 3] [--cycles 6] [--pace max]
"""

from __future__ import annotations

import argparse
import statistics
import time

from xvfb import start_xvfb  # bench/xvfb.py

from ginn_gl.cli.commands import prepare_process
from ginn_gl.cli.window import training_session
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.pace import parse_pace
from ginn_gl.core.sources import load_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", type=float, default=3.0)
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--pace", default="max")
    args = parser.parse_args()
    prepare_process(training=True, window=True)
    start_xvfb()
    from ginn_gl.ui import viewpane
    from ginn_gl.ui.app import App

    crisp_budget = viewpane.LINES_BUDGET
    config = TrainConfig(image="bottle", steps=1_280_000, seeds=(2,))
    session = training_session(config, load_target(config.image, config.resolution), parse_pace(args.pace))
    app = App(session, title="bench", size=(1600, 1000))
    app.frame()  # compiles the shaders
    trainer = session.trainer.start()
    time.sleep(2.0)

    def phase(crisp: bool) -> tuple[float, float, float, int]:
        """(median frame ms, median view ms, steps/s, frames) with the geometry lines on or off."""
        viewpane.LINES_BUDGET = crisp_budget if crisp else -1.0
        frames, views = [], []
        first, started = trainer.step, time.perf_counter()
        while time.perf_counter() - started < args.phase:
            frame_started = time.perf_counter()
            app.frame()
            frames.append(time.perf_counter() - frame_started)
            if app.pane.key is not None and app.view_ms:
                views.append(app.view_ms)
            app.wait_for_next_frame()
        rate = (trainer.step - first) / (time.perf_counter() - started)
        return 1e3 * statistics.median(frames), statistics.median(views or [0.0]), rate, len(frames)

    results: dict[bool, list[tuple[float, float, float, int]]] = {True: [], False: []}
    for _ in range(args.cycles):
        for crisp in (False, True):
            results[crisp].append(phase(crisp))
            frame_ms, view_ms, rate, count = results[crisp][-1]
            print(f"{'geometry' if crisp else 'shader  '} lines: frame {frame_ms:.1f} ms, view {view_ms:.1f} ms "
                  f"(smoothed), {count / args.phase:.1f} frames/s, training {rate:,.0f} steps/s", flush=True)
    app.close()
    session.trainer.finish(None, wait=False)
    for crisp in (False, True):
        rows = results[crisp]
        frame_ms, view_ms, rate, count = (statistics.median(r[k] for r in rows) for k in range(4))
        print(f"{'lines as geometry' if crisp else 'shader lines (soft)'}: frame {frame_ms:.1f} ms, view "
              f"{view_ms:.1f} ms, {count / args.phase:.1f} frames/s, training {rate:,.0f} steps/s (medians of "
              f"{len(rows)} phases of {args.phase:g} s)")


if __name__ == "__main__":
    main()
