"""The torch counterparts of core.network's activations: the step engine's out= kernels and the
reference module's layer, looked up once by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ginn_gl.core.network import ACTIVATIONS, Activation, activation_named


@dataclass(frozen=True)
class TorchActivation:
    unit: Activation
    forward_out: Callable[[torch.Tensor, torch.Tensor], object]  # (pre-activations, out)
    backward_in_place: Callable[[torch.Tensor, torch.Tensor], object]  # (gradient, pre-activations): masks it
    module: Callable[[], nn.Module]


def _relu() -> TorchActivation:
    return TorchActivation(
        ACTIVATIONS["relu"],
        lambda z, out: torch.clamp_min(z, 0.0, out=out),
        lambda grad, z: torch.ops.aten.threshold_backward.grad_input(grad, z, 0.0, grad_input=grad),
        nn.ReLU)


def _leaky_relu() -> TorchActivation:
    slope = ACTIVATIONS["leaky_relu"].negative_slope
    return TorchActivation(
        ACTIVATIONS["leaky_relu"],
        lambda z, out: torch.ops.aten.leaky_relu.out(z, slope, out=out),
        lambda grad, z: torch.ops.aten.leaky_relu_backward.grad_input(grad, z, slope, False, grad_input=grad),
        lambda: nn.LeakyReLU(slope))


TORCH_ACTIVATIONS: dict[str, Callable[[], TorchActivation]] = {"relu": _relu, "leaky_relu": _leaky_relu}


def torch_activation(name: str) -> TorchActivation:
    """The torch side of the activation `name` (a ValueError names the choices)."""
    activation_named(name)
    return TORCH_ACTIVATIONS[name]()
