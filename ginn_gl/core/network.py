"""The MLP as plain numpy: parameter layout, forward pass and exact input gradients.

The flat parameter vector is the run file's contract: per layer, the weight matrix (out, in)
row-major, then the bias (out), i.e. the order of torch's `nn.Linear` parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# softmax2: the original GINN's two logits with a softmax; they act as one logit z1 - z0, which is
# what run files store. sigmoid: one logit trained directly.
HEADS = ("softmax2", "sigmoid")
LEAKY_SLOPE = 0.01
INPUTS = 2  # the pixel position (x, y)
OUTPUTS = 1  # one logit: p(white) = sigmoid(logit)


@dataclass(frozen=True)
class Activation:
    """A ReLU-family unit: z where z > 0, else `negative_slope` * z. The torch counterpart is in
    train/activations.py; the shader gets `negative_slope` as its SLOPE define."""

    name: str
    negative_slope: float  # 0 for ReLU
    description: str

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.negative_slope * z) if self.negative_slope else np.maximum(z, 0.0)

    def slope(self, z: np.ndarray) -> np.ndarray:
        """The derivative: 1 where z > 0, else the negative slope."""
        return np.where(z > 0, 1.0, self.negative_slope)

    @property
    def shader_slope(self) -> str:
        return f"{self.negative_slope:.6f}"


ACTIVATIONS: dict[str, Activation] = {unit.name: unit for unit in (
    Activation("relu", 0.0, "max(z, 0)"),
    Activation("leaky_relu", LEAKY_SLOPE, f"z where z > 0, else {LEAKY_SLOPE:g} z"),
)}


def activation_named(name: str) -> Activation:
    """The activation called `name` (looked up once, where a network is built)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation {name!r} is unknown; use one of {', '.join(ACTIVATIONS)}") from None


@dataclass(frozen=True)
class LayerSlice:
    n_in: int
    n_out: int
    weight: slice  # into the flat vector; reshape to (n_out, n_in)
    bias: slice


def layer_slices(sizes: list[int]) -> list[LayerSlice]:
    slices, offset = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = slice(offset, offset + n_out * n_in)
        b = slice(w.stop, w.stop + n_out)
        slices.append(LayerSlice(n_in, n_out, w, b))
        offset = b.stop
    return slices


def describe(sizes: list[int]) -> str:
    """2-16-16-16-1, with runs of one width shortened: 2-64x8-1."""
    parts, i = [], 0
    while i < len(sizes):
        j = i
        while j + 1 < len(sizes) and sizes[j + 1] == sizes[i]:
            j += 1
        parts.append(f"{sizes[i]}x{j - i + 1}" if j - i >= 3 else "-".join([str(sizes[i])] * (j - i + 1)))
        i = j + 1
    return "-".join(parts)


def parameter_count(sizes: list[int]) -> int:
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def split_parameters(flat: np.ndarray, sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flat vector -> [(W (out, in), b (out,)), ...] as views."""
    if flat.shape[-1] != parameter_count(sizes):
        raise ValueError(f"{flat.shape[-1]} parameters do not fit layers {sizes}")
    return [(flat[s.weight].reshape(s.n_out, s.n_in), flat[s.bias]) for s in layer_slices(sizes)]


@dataclass
class Evaluation:
    logits: np.ndarray  # [M]
    hidden: list[np.ndarray]  # per hidden layer, pre-activations [M, n]
    logit_grad: np.ndarray | None = None  # [M, 2]: d logit / d(x, y)
    hidden_grad: list[np.ndarray] | None = None  # per hidden layer [M, n, 2]

    @property
    def probability(self) -> np.ndarray:
        return sigmoid(self.logits)


def evaluate(flat: np.ndarray, sizes: list[int], activation: str, points: np.ndarray,
             gradients: bool = False) -> Evaluation:
    """Forward pass in float64 over points [M, 2]; with `gradients`, forward-mode d/d(x, y).

    The network is piecewise linear, so these gradients are exact wherever they exist.
    """
    unit = activation_named(activation)
    *hidden_layers, (w_out, b_out) = split_parameters(np.asarray(flat, dtype=np.float64), sizes)
    a = np.asarray(points, dtype=np.float64)
    da = np.broadcast_to(np.eye(2), (a.shape[0], 2, 2))  # d(input)/d(x, y), carried only with `gradients`
    hidden, hidden_grad = [], []
    for w, b in hidden_layers:
        z = a @ w.T + b
        hidden.append(z)
        a = unit(z)
        if gradients:
            dz = np.einsum("oi,mid->mod", w, da)
            hidden_grad.append(dz)
            da = dz * unit.slope(z)[:, :, None]
    logits = (a @ w_out.T + b_out)[:, 0]
    if not gradients:
        return Evaluation(logits, hidden)
    return Evaluation(logits, hidden, np.einsum("oi,mid->mod", w_out, da)[:, 0, :], hidden_grad)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def bce_with_logits(logits: np.ndarray, target: np.ndarray) -> float:
    """Mean binary cross-entropy of logits against 0/1 targets, computed stably."""
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))


def grid_points(height: int, width: int, domain=(0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
    """Pixel-centre sample points [H*W, 2] of a view of `domain` = (x0, y0, x1, y1), y downwards."""
    x0, y0, x1, y1 = domain
    xs = x0 + (x1 - x0) * (np.arange(width) + 0.5) / width
    ys = y0 + (y1 - y0) * (np.arange(height) + 0.5) / height
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)
