"""The MLP in torch: seeded default initialisation and the plain nn.Module reference.

The trainer does not run this module (see engine.py); it is the ground truth that the fast
path is tested against and the baseline that bench/ measures.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch import nn

from ginn_gl.train.activations import torch_activation


def cpu_threads() -> int:
    """Torch threads for training: all cores but one, which the window and Python need."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def init_parameters(sizes: list[int], generator: torch.Generator) -> torch.Tensor:
    """PyTorch's default nn.Linear initialisation, drawn from `generator`, as a flat vector.

    The draws are those of `torch.manual_seed(seed)` followed by building the layers in order.
    """
    parts = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weight = torch.empty(n_out, n_in)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bound = 1.0 / math.sqrt(n_in)
        bias = torch.empty(n_out).uniform_(-bound, bound, generator=generator)
        parts += [weight.reshape(-1), bias]
    return torch.cat(parts)


def initial_parameters(sizes: list[int], generator: torch.Generator, head: str = "sigmoid") -> np.ndarray:
    """A seed's initial network in the run layout (one logit). softmax2 draws the original GINN's
    two-logit last layer and keeps the difference of its rows, z1 - z0, as the one logit."""
    if head == "sigmoid":
        return init_parameters(sizes, generator).numpy()
    flat = init_parameters([*sizes[:-1], 2], generator).numpy()
    n_in = sizes[-2]
    start = len(flat) - 2 * n_in - 2
    (w0, w1), (c0, c1) = flat[start:start + 2 * n_in].reshape(2, n_in), flat[start + 2 * n_in:]
    return np.concatenate([flat[:start], w1 - w0, [c1 - c0]]).astype(np.float32)


def reference_module(sizes: list[int], activation: str) -> nn.Sequential:
    """The same network as a plain nn.Sequential (autograd, nn.Linear, ReLU/LeakyReLU)."""
    unit = torch_activation(activation)
    modules: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(nn.Linear(n_in, n_out))
        if index < len(sizes) - 2:
            modules.append(unit.module())
    return nn.Sequential(*modules)


def load_flat(module: nn.Sequential, flat: np.ndarray | torch.Tensor) -> nn.Sequential:
    """Copy a flat run-layout vector into the module's parameters (no memory is shared)."""
    flat = torch.as_tensor(np.asarray(flat, dtype=np.float32))
    offset = 0
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(flat[offset:offset + param.numel()].view_as(param))
            offset += param.numel()
    if offset != flat.numel():
        raise ValueError(f"{flat.numel()} values for a module of {offset} parameters")
    return module


def module_flat(module: nn.Module) -> np.ndarray:
    return torch.nn.utils.parameters_to_vector(module.parameters()).detach().cpu().numpy()
