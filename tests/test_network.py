"""The numpy network (what renderers and tools read from run files) against torch."""

import numpy as np
import pytest
import torch

from ginn_gl.core.network import evaluate, grid_points, parameter_count, split_parameters
from ginn_gl.train.model import init_parameters, load_flat, module_flat, reference_module

ARCHITECTURES = [([16, 16, 16], "relu"), ([8], "leaky_relu"), ([32, 4, 12, 7], "relu"),
                 ([5, 5], "leaky_relu")]


@pytest.mark.parametrize("hidden,activation", ARCHITECTURES)
def test_numpy_forward_equals_torch(hidden, activation):
    sizes = [2, *hidden, 1]
    flat = init_parameters(sizes, torch.Generator().manual_seed(3)).numpy() * 3.0
    points = np.random.default_rng(0).uniform(-0.5, 1.5, size=(500, 2))
    module = load_flat(reference_module(sizes, activation), flat)
    with torch.no_grad():
        expected = module(torch.as_tensor(points, dtype=torch.float64).float()).double().numpy()[:, 0]
    got = evaluate(flat, sizes, activation, points).logits
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_layout_is_torch_parameter_order_and_round_trips():
    sizes = [2, 3, 4, 1]
    module = reference_module(sizes, "relu")
    flat = module_flat(module)
    assert flat.shape == (parameter_count(sizes),) == (3 * 2 + 3 + 4 * 3 + 4 + 1 * 4 + 1,)
    layers = split_parameters(flat, sizes)
    for (w, b), linear in zip(layers, [m for m in module if isinstance(m, torch.nn.Linear)]):
        np.testing.assert_array_equal(w, linear.weight.detach().numpy())
        np.testing.assert_array_equal(b, linear.bias.detach().numpy())
    np.testing.assert_array_equal(module_flat(load_flat(reference_module(sizes, "relu"), flat)), flat)


def test_init_matches_manual_seed_and_nn_linear():
    sizes = [2, 16, 16, 16, 1]
    torch.manual_seed(7)
    module = reference_module(sizes, "relu")
    ours = init_parameters(sizes, torch.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(ours, module_flat(module))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_input_gradients_match_autograd(activation):
    sizes = [2, 16, 16, 16, 1]
    flat = init_parameters(sizes, torch.Generator().manual_seed(1)).numpy()
    points = np.random.default_rng(1).uniform(0, 1, size=(300, 2))
    ev = evaluate(flat, sizes, activation, points, gradients=True)
    module = load_flat(reference_module(sizes, activation), flat).double()
    x = torch.tensor(points, requires_grad=True)
    module(x).sum().backward()
    np.testing.assert_allclose(ev.logit_grad, x.grad.numpy(), rtol=1e-9, atol=1e-12)
    # Hidden neuron 5 of layer 2: its pre-activation's gradient, through autograd.
    x2 = torch.tensor(points, requires_grad=True)
    z2 = module[2](module[1](module[0](x2)))
    z2[:, 5].sum().backward()
    np.testing.assert_allclose(ev.hidden_grad[1][:, 5, :], x2.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_grid_points_are_pixel_centres():
    pts = grid_points(2, 4)
    np.testing.assert_allclose(pts[:4, 0], [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_allclose(pts[::4, 1], [0.25, 0.75])
    pts = grid_points(1, 2, domain=(-1, 0, 1, 2))
    np.testing.assert_allclose(pts, [[-0.5, 1.0], [0.5, 1.0]])
