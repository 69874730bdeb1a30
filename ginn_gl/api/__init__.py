"""The Python API (re-exported by `ginn_gl`): train, load, look at and record runs from a notebook or
a script. Light to import: torch, OpenGL and the window load when a call first needs them."""

from ginn_gl.api.recorder import Recorder
from ginn_gl.api.run import Network, Run, load
from ginn_gl.api.training import train
from ginn_gl.api.watch import Watcher, watch

__all__ = ["Network", "Recorder", "Run", "Watcher", "load", "train", "watch"]
