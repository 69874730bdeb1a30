"""How much the open window slows training: steps done in the same wall time by the trainer
alone and by the trainer with the live window open (the same config, both from step 0), in one
process. Starts its own Xvfb when there is no display.

    python bench/window_overhead.py [--seconds 12] [--interact]

--interact also scrubs the slider back and forth (a key press every 50 ms) while it measures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from ginn_gl.cli.commands import prepare_process
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.targets import load_target
from ginn_gl.train.trainer import Trainer


def start_xvfb() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY") or not shutil.which("Xvfb"):
        return None
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x900x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(read, 1)
        if not chunk:  # Xvfb exited before it named its display
            raise SystemExit("Xvfb did not start")
        number += chunk
    os.close(read)
    os.environ["DISPLAY"] = f":{number.decode().strip()}"
    return proc


def alone(config: TrainConfig, seconds: float) -> int:
    trainer = Trainer(config, load_target(config.image, config.resolution)).start()
    time.sleep(seconds)
    steps = trainer.step
    trainer.stop()
    return steps


def with_window(config: TrainConfig, seconds: float, interact: bool) -> tuple[int, int, float]:
    from imgui_bundle import imgui

    from ginn_gl.cli.commands import training_session
    from ginn_gl.ui.app import App

    session = training_session(config, load_target(config.image, config.resolution))
    app = App(session, title="bench", save_path=None)
    app.frame()  # the first frame compiles the shaders (seconds on llvmpipe): not part of the measure
    session.trainer.start()
    started = time.perf_counter()
    next_key, direction = started, imgui.Key.left_arrow
    while time.perf_counter() - started < seconds:
        if interact and time.perf_counter() >= next_key:  # scrub: Left x 20, Right x 20, ...
            io = imgui.get_io()
            io.add_key_event(direction, True)
            io.add_key_event(direction, False)
            next_key += 0.05
            if int((next_key - started) / 1.0) % 2:
                direction = imgui.Key.right_arrow
            else:
                direction = imgui.Key.left_arrow
        app.frame()
        app.wait_for_next_frame()
    # The last frame may end past the deadline: count the steps of exactly `seconds`.
    steps = round(session.trainer.step * seconds / (time.perf_counter() - started))
    frames = app.frames
    view_ms = app.view_ms
    app.close()
    return steps, frames, view_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--interact", action="store_true")
    parser.add_argument("--image", default="bottle")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of alone / with the window")
    args = parser.parse_args()
    prepare_process(training=True, window=True)  # as `ginn-gl` does: torch and llvmpipe threads
    xvfb = start_xvfb()
    ratios, lines = [], []
    try:
        config = TrainConfig(image=args.image, steps=1_280_000, seeds=(2,))
        base = alone(config, args.seconds)
        for _ in range(args.rounds):  # alternate, so drift of the machine hits both sides alike
            steps, frames, view_ms = with_window(config, args.seconds, args.interact)
            after = alone(config, args.seconds)
            ratios.append(steps / ((base + after) / 2))
            lines.append(f"alone {base:,} / window {steps:,} ({frames} frames, view {view_ms:.0f} ms) / "
                         f"alone {after:,} steps in {args.seconds:g} s: {ratios[-1]:.1%}")
            base = after
    finally:
        if xvfb is not None:
            xvfb.terminate()
    for line in lines:
        print(line)
    median = sorted(ratios)[len(ratios) // 2]
    print(f"training with the window open ({'scrubbing' if args.interact else 'watching'}) runs at "
          f"{median:.1%} of its speed alone (median of {len(ratios)})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
