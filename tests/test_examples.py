"""The examples run as a user runs them: headless here (no window), on a small budget."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import ginn_gl

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_own_model_example_trains_records_and_draws_headless(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLES.parent), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(EXAMPLES / "own_model.py"), "--steps", "300", "--resolution", "48",
                             "--out", str(tmp_path / "own.npz"), "--png", str(tmp_path / "own.png")],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout and "wrote" in result.stdout
    run = ginn_gl.load(tmp_path / "own.npz")
    assert run.steps[-1] == 300 and run.layers == [2, 24, 24, 24, 1] and run.meta["head"] == "softmax2"
    assert run.loss[-1] < run.loss[0]
    from PIL import Image

    assert np.asarray(Image.open(tmp_path / "own.png")).shape == (400, 400, 3)
