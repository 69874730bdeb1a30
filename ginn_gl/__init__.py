"""ginn-gl: watch a ReLU network carve up its input plane while it learns.

From Python (see docs/python.md)::

    import ginn_gl

    run = ginn_gl.train(image="bottle", seed=2, steps=20_000)   # as `ginn-gl train`, returns a Run
    run.render(step=1_000, view="regions")                      # uint8 (H, W, 3), as `ginn-gl render`
    p = run.network()(xy)                                       # p(white) at (N, 2) points
    run = ginn_gl.load("runs/mine.npz")

    with ginn_gl.Recorder(model, image="bottle") as rec:        # your own nn.Sequential and loop
        for step in range(1, 5001):
            ...                                                 # forward, backward, optimiser step
            rec.record(step, loss)
    rec.save("runs/own.npz")

    with ginn_gl.watch(model, image="bottle", save="runs/own.npz") as rec:   # the same, live in the window
        ...
"""

__version__ = "0.1.0"  # first: the modules imported below (and the trainer, the CLI) read it from here

# The subpackage ginn_gl.train is loaded before the function `train` is bound below: a subpackage's
# first import sets its parent's attribute, which would otherwise replace the function.
import ginn_gl.train as _train_package  # noqa: E402, F401
from ginn_gl.api import Network, Recorder, Run, Watcher, load, train, watch  # noqa: E402

__all__ = ["Network", "Recorder", "Run", "Watcher", "__version__", "load", "train", "watch"]
