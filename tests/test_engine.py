"""The fast training step against plain autograd + torch.optim.Adam on the same minibatches."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ginn_gl.engine import EngineSpec, StepEngine
from ginn_gl.model import load_flat, module_flat, reference_module
from ginn_gl.schedule import learning_rates
from ginn_gl.targets import load_target

TARGET = load_target("bottle", 40).pixels


def reference_run(engine, sizes, activation, init, index_blocks, rates):
    """Plain PyTorch on the minibatches the engine drew: returns (grads of last step, params)."""
    module = load_flat(reference_module(sizes, activation), init)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    table = engine.table
    grads = None
    for indices, lr in zip(index_blocks, rates):
        rows = table if indices is None else table[indices]
        for group in opt.param_groups:
            group["lr"] = float(lr)
        loss = F.binary_cross_entropy_with_logits(module(rows[:, :2]), rows[:, 3:4])
        opt.zero_grad()
        loss.backward()
        grads = torch.cat([p.grad.reshape(-1) for p in module.parameters()]).numpy().copy()
        opt.step()
    return grads, module_flat(module), loss.item()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("batch_size", [128, 0])
def test_gradients_and_updates_match_autograd_adam(activation, batch_size):
    sizes = [2, 16, 16, 16, 1]
    engine = StepEngine(EngineSpec(sizes, activation, [5], batch_size, block=16), TARGET)
    init = engine.parameters()[0].copy()
    rates = learning_rates(3e-3, "cosine", 0, 12, 12)
    engine.prepare_block(0, 12, rates)
    indices = [None if batch_size == 0 else engine.index_buf[k].clone() for k in range(12)]
    # The gradient of the first step, on its own.
    engine._gradient_step(0)
    first_grads, _, first_loss = reference_run(engine, sizes, activation, init, indices[:1], rates[:1])
    np.testing.assert_allclose(engine.gradients()[0], first_grads, rtol=1e-5, atol=1e-6)
    assert np.abs(engine.gradients()[0] - first_grads).max() < 1e-6
    # Twelve full steps (the same first step again, now with the Adam update).
    engine.set_parameters(init[None])
    assert engine.run_block(12) == 12
    grads, params, last_loss = reference_run(engine, sizes, activation, init, indices, rates)
    assert np.abs(engine.gradients()[0] - grads).max() < 1e-6
    np.testing.assert_allclose(engine.parameters()[0], params, rtol=1e-4, atol=2e-6)
    losses = engine.block_losses(12)
    assert losses.shape == (12, 1)
    assert losses[0, 0] == pytest.approx(first_loss, rel=1e-5)
    assert losses[-1, 0] == pytest.approx(last_loss, rel=1e-5)


def test_initial_parameters_are_pytorch_defaults_for_the_seed():
    sizes = [2, 8, 8, 1]
    engine = StepEngine(EngineSpec(sizes, "relu", [11], 64), TARGET)
    torch.manual_seed(11)
    np.testing.assert_array_equal(engine.parameters()[0], module_flat(reference_module(sizes, "relu")))


def test_several_seeds_match_single_seed_runs():
    sizes = [2, 16, 16, 16, 1]
    seeds = [0, 1, 2, 3]
    group = StepEngine(EngineSpec(sizes, "relu", seeds, 128, block=64), TARGET)
    singles = [StepEngine(EngineSpec(sizes, "relu", [s], 128, block=64), TARGET) for s in seeds]
    for first in range(0, 192, 64):
        rates = learning_rates(1e-3, "cosine", first, 64, 192)
        for engine in [group, *singles]:
            engine.prepare_block(first, 64, rates)
            engine.run_block(64)
    together = group.parameters()
    for s, single in enumerate(singles):
        np.testing.assert_allclose(together[s], single.parameters()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(group.domain_loss(), [e.domain_loss()[0] for e in singles], rtol=1e-5)


def test_domain_loss_and_predict_match_numpy():
    from ginn_gl.network import bce_with_logits, evaluate, grid_points

    sizes = [2, 7, 5, 1]
    engine = StepEngine(EngineSpec(sizes, "leaky_relu", [4], 32), TARGET)
    flat = engine.parameters()[0]
    points = grid_points(*TARGET.shape)
    ev = evaluate(flat, sizes, "leaky_relu", points)
    assert engine.domain_loss()[0] == pytest.approx(bce_with_logits(ev.logits, TARGET.reshape(-1)), rel=1e-5)
    np.testing.assert_allclose(engine.predict(points)[0], ev.probability, atol=1e-6)


def test_stop_event_interrupts_a_block():
    import threading

    engine = StepEngine(EngineSpec([2, 16, 1], "relu", [0], 16, block=32), TARGET)
    engine.prepare_block(0, 32, np.full(32, 1e-3))
    stop = threading.Event()
    stop.set()
    assert engine.run_block(32, stop) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_block_matches_cpu():
    sizes = [2, 16, 16, 16, 1]
    cpu = StepEngine(EngineSpec(sizes, "relu", [2], 128, block=32), TARGET, "cpu")
    gpu = StepEngine(EngineSpec(sizes, "relu", [2], 128, block=32), TARGET, "cuda")
    assert gpu.use_graphs
    for first in range(0, 96, 32):
        rates = learning_rates(1e-3, "cosine", first, 32, 96)
        for engine in (cpu, gpu):
            engine.prepare_block(first, 32, rates)
            assert engine.run_block(32) == 32
        np.testing.assert_allclose(gpu.block_losses(32), cpu.block_losses(32), rtol=1e-4, atol=1e-5)
    assert gpu._graph is not None, "full blocks ran as a captured CUDA graph"
    np.testing.assert_allclose(gpu.parameters(), cpu.parameters(), rtol=1e-3, atol=1e-4)
