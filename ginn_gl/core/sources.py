"""Where a training target comes from: a built-in name, an image file, or a run file's target
(`RUN.npz`, or `RUN.npz@STEP`: the version in force at STEP). The one `load_target` every layer calls.

Above targets and runfile (a run file's target needs both), so neither imports the other's reader.
"""

from __future__ import annotations

import re
from pathlib import Path

from ginn_gl.core.errors import TargetError
from ginn_gl.core.runfile import load_run
from ginn_gl.core.targets import Target, file_sha256, load_picture

RUN_STEP = re.compile(r"^(?P<path>.+\.npz)(@(?P<step>[0-9]+))?$")  # RUN.npz or RUN.npz@STEP: a run's target


def load_target(spec: str, resolution: int, threshold: str = "mid") -> Target:
    """A built-in name, an image path, or a run file (`RUN.npz`, or `RUN.npz@STEP`: the target version in
    force at STEP, by default at the run's last step) -> Target. A run's target keeps its own size."""
    if (match := RUN_STEP.match(spec)) is not None:
        return run_target(spec, match.group("path"), None if match.group("step") is None else int(match.group("step")))
    return load_picture(spec, resolution, threshold)


def run_target(spec: str, path: str, step: int | None) -> Target:
    """The target a run file held at `step` (the version in force then; None: its last step)."""
    run = load_run(path)
    first, last = int(run.steps[0]), int(run.steps[-1])
    at = last if step is None else step
    if not first <= at <= last:
        raise TargetError(f"--image {spec}: step {at:,} is outside the run's steps {first:,} to {last:,}; give a step "
                          "in that range, e.g. @" + str(last))
    return Target(spec, run.target_at(at).copy(), str(Path(path).resolve()), file_sha256(Path(path)))
