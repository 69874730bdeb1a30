"""A recorded run as Python sees it (`ginn_gl.Run`), its network at one snapshot (`ginn_gl.Network`),
and `ginn_gl.load`: the run file's arrays by their meaning, pictures by the CLI's own drawing code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ginn_gl.api.options import OptionError, as_keywords, whole
from ginn_gl.core.errors import RunFileError, UserError
from ginn_gl.core.network import evaluate, sigmoid, split_parameters
from ginn_gl.core.outputs import check_output, printable
from ginn_gl.core.runfile import Run as RunRecord
from ginn_gl.core.runfile import load_run, save_run
from ginn_gl.core.targets import sized

REPR_PNG_SIZE = 400  # pixels on the long side of the picture a notebook shows for a run


def load(path: str | os.PathLike) -> Run:
    """Read a run file (.npz) with the same checks as `ginn-gl info` and `replay`: nothing in it is
    trusted or unpickled. A missing file raises FileNotFoundError, an unusable one ValueError."""
    try:
        return Run(load_run(path))
    except RunFileError as exc:
        if not Path(path).exists():
            raise FileNotFoundError(str(exc)) from None
        raise ValueError(str(exc)) from None


def npz_name(path: str | os.PathLike) -> str:
    """The name save_run writes for `path` (.npz added), so that one is checked; a folder stays as it is
    (and is refused)."""
    name = os.fspath(path)
    if name.strip() and not name.endswith((".npz", "/", os.sep)) and not Path(name).is_dir():
        name += ".npz"
    return name


def read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Network:
    """The network of one snapshot as a function of points: `net(xy)` is p(white) at each point.

    `xy` is an (N, 2) array of (x, y) in the picture's frame, y downwards: pixel (row r, column c) of an
    H x W target is at ((c + 0.5) / L, (r + 0.5) / L) with L = max(H, W), so a square target fills
    [0, 1]^2 and a wide one [0, 1] x [0, H/W]. Evaluated in float64 numpy.
    """

    def __init__(self, weights: np.ndarray, layers: list[int], activation: str, step: int):
        self.weights = read_only(weights)  # float32 [P]: per layer W (out, in) row-major, then b
        self.layers = list(layers)  # e.g. [2, 16, 16, 16, 1]
        self.activation = activation  # "relu" or "leaky_relu" (slope 0.01)
        self.step = step  # the optimiser step of the snapshot

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """p(white) at each point: float64 (N,)."""
        return sigmoid(self.logit(xy))

    def logit(self, xy: np.ndarray) -> np.ndarray:
        """The output logit at each point (a two-logit softmax head's z1 - z0): float64 (N,)."""
        return evaluate(self.weights, self.layers, self.activation, self._points(xy)).logits

    def pre_activations(self, xy: np.ndarray) -> list[np.ndarray]:
        """Each hidden layer's pre-activations z = W a + b at each point: a list of float64 (N, width),
        layer 1 first. A neuron's boundary (its line in the picture) is where its z is 0."""
        return evaluate(self.weights, self.layers, self.activation, self._points(xy)).hidden

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W (out, in), b (out,)), ...] per layer, as read-only float32 views."""
        return split_parameters(self.weights, self.layers)

    def _points(self, xy: np.ndarray) -> np.ndarray:
        points = np.asarray(xy, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"xy has shape {points.shape}; give an (N, 2) array of (x, y) points")
        return points

    def __repr__(self) -> str:
        return f"<ginn_gl.Network {'-'.join(map(str, self.layers))} {self.activation} at step {self.step:,}>"


class Run:
    """A training run's history: snapshots of the network with their full-image loss and geometry, the
    minibatch loss curve, the target and the settings (`meta`). Returned by `ginn_gl.train`,
    `ginn_gl.load` and `Recorder.run`; arrays are read-only."""

    def __init__(self, record: RunRecord):
        self._record = record

    # ---- what it holds -----------------------------------------------------------------------------

    @property
    def steps(self) -> np.ndarray:
        """int64 (S,): the optimiser step of each snapshot, from 0 (the initial network)."""
        return read_only(self._record.steps)

    @property
    def loss(self) -> np.ndarray:
        """float32 (S,): the full-image loss (mean binary cross-entropy over every pixel) at each snapshot."""
        return read_only(self._record.snap_loss)

    @property
    def minibatch_steps(self) -> np.ndarray:
        """int64 (L,): the minibatch loss curve's steps; entry i covers the steps after entry i - 1 up to it."""
        return read_only(self._record.loss_steps)

    @property
    def minibatch_loss(self) -> np.ndarray:
        """float32 (L,): the mean minibatch loss over the steps each entry covers."""
        return read_only(self._record.loss)

    @property
    def weights(self) -> np.ndarray:
        """float32 (S, P): each snapshot's parameters, per layer W (out, in) row-major then b (torch's
        nn.Linear order); one output logit (a softmax2 head's two rows stored as their difference)."""
        return read_only(self._record.weights)

    @property
    def regions(self) -> np.ndarray:
        """int32 (S,): the exact number of linear regions in the picture's rectangle of the input plane
        (-1: not measured; a file without meta `geometry`: activation patterns among the pixel centres)."""
        return read_only(self._record.regions)

    @property
    def density(self) -> np.ndarray:
        """float32 (S, 2): the hidden neurons' boundary length in target pixels per px² of area, within 2 px
        of the target's edges and elsewhere (NaN: not measured)."""
        return read_only(self._record.density)

    @property
    def status(self) -> np.ndarray:
        """int8 (S, N): each hidden neuron's NeuronStatus over the picture: dead 0, always on 1, switching 2
        (-1: not measured)."""
        return read_only(self._record.status)

    @property
    def target(self) -> np.ndarray:
        """uint8 (H, W) of 0 (black) and 1 (white), row 0 at the top."""
        return read_only(self._record.target)

    @property
    def meta(self) -> dict[str, Any]:
        """The settings and facts of the run (layers, activation, head, seed, image, steps, state, ...)."""
        return self._record.meta

    @property
    def layers(self) -> list[int]:
        """Layer widths, inputs and output included: e.g. [2, 16, 16, 16, 1]."""
        return self._record.layers

    @property
    def path(self) -> Path | None:
        """The file it was read from or last saved to (None: only in memory)."""
        return self._record.path

    def __len__(self) -> int:
        return len(self._record)

    # ---- the network ---------------------------------------------------------------------------------

    def index(self, step: int | None = None, snapshot: int | None = None) -> int:
        """The snapshot shown for `step` (the newest at or before it; None: the newest of all) or for
        `snapshot` (an index, negative from the end)."""
        count = len(self)
        if step is not None and snapshot is not None:
            raise OptionError("give step or snapshot, not both")
        if snapshot is not None:
            index = whole("snapshot", snapshot)
            if not -count <= index < count:
                raise OptionError(f"snapshot={index} is out of range; this run holds {count} snapshots "
                                  f"(0..{count - 1}, or -1 for the last)")
            return index % count
        if step is None:
            return count - 1
        step = whole("step", step)
        try:  # the command line's rule: the snapshot in force at `step`
            return self._record.in_force(step, "step=")
        except UserError as exc:
            raise OptionError(str(exc)) from None

    def network(self, step: int | None = None, *, snapshot: int | None = None) -> Network:
        """The network at the newest snapshot at or before `step` (None: the newest of all), or at
        `snapshot` (an index); its `.step` says which."""
        index = self.index(step, snapshot)
        return Network(self._record.weights[index], self.layers, self._record.activation,
                       int(self._record.steps[index]))

    # ---- pictures and files ---------------------------------------------------------------------------

    def render(self, step: int | None = None, *, snapshot: int | None = None,
               size: int | tuple[int, int] | str | None = None, **view: Any) -> np.ndarray:
        """The picture `ginn-gl render RUN --step STEP` writes, as uint8 (H, W, 3): the same pixels.

        `size`: 800, (width, height) or "WxH" (None: the picture's proportions, 800 on the long side, as
        render's default). View options, as `render`'s: view ("prediction", "target",
        "error", "regions"), neurons ("all", "none", "1:*,2:3" or a list of "L:I"), solo and highlight
        ("L:I" or (L, I)), line_width (px), contrast ("none", "stretch"), shading ("flat", "gradient"),
        output_boundary (bool), domain ((x0, y0, x1, y1), y downwards)."""
        from ginn_gl.api.drawing import image_size, render_pixels
        from ginn_gl.api.options import view_settings
        from ginn_gl.cli.drawing import DEFAULT_RENDER

        index = self.index(step, snapshot)
        height, width = self.target.shape
        pixels = sized(width, height, DEFAULT_RENDER) if size is None else image_size(size)
        return render_pixels(self._record, index, pixels,
                             view_settings(self.layers, view, self.target.shape, pixels[0] / pixels[1]))

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the run file (written atomically; an existing file is replaced only with overwrite=True).
        Returns where it went (.npz is added to a name without it)."""
        with as_keywords("path", "--out"):
            out = check_output(npz_name(path), "path", overwrite)
        try:
            landed = save_run(out, self._record, overwrite)
        except UserError as exc:
            raise ValueError(str(exc)) from None
        self._record.path = landed
        return landed

    def export(self, path: str | os.PathLike, *, frames: int | str | None = None, fps: float = 30.0, size: int = 400,
               label: bool = True, overwrite: bool = False, progress: bool = True, **view: Any) -> Path:
        """What `ginn-gl export RUN --out path` writes: a .mp4 (needs `pip install 'ginn-gl[video]'`), a .gif,
        a folder of PNGs or a self-contained .html page. `frames`: at most this many, spread over the
        snapshots, or "all" (None: as `export` without --frames: 300, a page every snapshot); `label`:
        the step and loss on each frame; the view options as render's. Returns where it went."""
        from ginn_gl.api.drawing import export_run
        from ginn_gl.api.options import view_settings

        return export_run(self._record, self.name, os.fspath(path), view_settings(self.layers, view, self.target.shape),
                          frames=frames, fps=fps, size=size, label=label, overwrite=overwrite, progress=progress)

    @property
    def name(self) -> str:
        """The file's name without .npz, or the image and seed of a run only in memory."""
        if self.path is not None:
            return printable(self.path.stem)
        return f"{printable(Path(str(self.meta.get('image', 'run'))).stem)}-seed{self.meta.get('seed', 0)}"

    def _repr_png_(self) -> bytes | None:
        """Jupyter shows a run as its newest snapshot, 400 px on its long side (nothing where no OpenGL is)."""
        from ginn_gl.api.drawing import png_bytes

        try:
            height, width = self.target.shape
            return png_bytes(self.render(size=sized(width, height, REPR_PNG_SIZE)))
        except UserError:
            return None

    def __repr__(self) -> str:
        meta, loss = self.meta, self._record.snap_loss
        return (f"<ginn_gl.Run {self.name}: {'-'.join(map(str, self.layers))} {self._record.activation}, "
                f"{len(self):,} snapshots to step {int(self._record.steps[-1]):,} ({meta.get('state', '?')}), "
                f"loss {float(loss[0]):.4f} -> {float(loss[-1]):.4f}>")
