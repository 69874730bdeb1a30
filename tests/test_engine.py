"""The fast training step against plain autograd + torch.optim.Adam on the same minibatches."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ginn_gl.core.schedule import learning_rates
from ginn_gl.core.sources import load_target
from ginn_gl.train.engine import EngineSpec, StepEngine
from ginn_gl.train.model import init_parameters, load_flat, module_flat, reference_module

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
@pytest.mark.parametrize("sizes", [[2, 16, 16, 16, 1], [2, 7, 5, 3, 1], [2, 6, 1]], ids=str)
def test_gradients_and_updates_match_autograd_adam(activation, batch_size, sizes):
    # Unequal widths: a layer stored with its in and out sizes swapped cannot pass unnoticed.
    engine = StepEngine(EngineSpec(sizes, activation, [5], batch_size, block=16), TARGET)
    init = engine.parameters()[0].copy()
    rates = learning_rates(3e-3, "cosine", 0, 12, 12)
    engine.prepare_block(0, 12, rates)
    indices = [None if batch_size == 0 else engine.index_buf[k].clone() for k in range(12)]
    # The gradient of the first step, on its own.
    engine.slot_gradients(0)
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
    from ginn_gl.core.network import bce_with_logits, evaluate, grid_points

    sizes = [2, 7, 5, 1]
    engine = StepEngine(EngineSpec(sizes, "leaky_relu", [4], 32), TARGET)
    flat = engine.parameters()[0]
    points = grid_points(*TARGET.shape)
    ev = evaluate(flat, sizes, "leaky_relu", points)
    assert engine.domain_loss()[0] == pytest.approx(bce_with_logits(ev.logits, TARGET.reshape(-1)), rel=1e-5)
    np.testing.assert_allclose(engine.predict(points)[0], ev.probability, atol=1e-6)


def test_a_network_without_hidden_layers_is_refused():
    with pytest.raises(ValueError, match="hidden layers"):
        StepEngine(EngineSpec([2, 1], "relu", [0], 16), TARGET)


def test_stop_event_interrupts_a_block():
    import threading

    engine = StepEngine(EngineSpec([2, 16, 1], "relu", [0], 16, block=32), TARGET)
    engine.prepare_block(0, 32, np.full(32, 1e-3))
    stop = threading.Event()
    stop.set()
    assert engine.run_block(32, stop) == 0


@pytest.mark.parametrize("batch_size", [128, 0])
def test_cursor_steps_equal_slot_steps(batch_size):
    """The cursor path (what CUDA graphs replay for blocks shorter than a full one) is the same step."""
    sizes = [2, 16, 16, 1]
    by_slot, by_cursor = (StepEngine(EngineSpec(sizes, "leaky_relu", [3, 8], batch_size, block=16), TARGET)
                          for _ in range(2))
    for first, count in ((0, 13), (13, 16), (29, 1)):
        rates = learning_rates(2e-3, "cosine", first, count, 40)
        by_slot.prepare_block(first, count, rates)
        by_cursor.prepare_block(first, count, rates)
        assert by_slot.run_block(count) == count
        by_cursor.run_cursor_steps(count)
        assert int(by_cursor.cursor) == count
        np.testing.assert_array_equal(by_cursor.block_losses(count), by_slot.block_losses(count))
        np.testing.assert_array_equal(by_cursor.parameters(), by_slot.parameters())
    assert not np.array_equal(by_cursor.parameters(), StepEngine(
        EngineSpec(sizes, "leaky_relu", [3, 8], batch_size, block=16), TARGET).parameters()), "it trained"


def test_per_seed_weight_gradients_equal_the_batched_product():
    """The per-seed products CUDA uses for full-batch weight gradients, run here on the CPU."""
    sizes = [2, 16, 16, 1]
    batched, split = (StepEngine(EngineSpec(sizes, "relu", [1, 2, 3], 0), TARGET) for _ in range(2))
    split.per_seed_weight_grads = True
    for engine in (batched, split):
        engine.prepare_block(0, 1, [1e-3])
        engine.slot_gradients(0)
    assert np.abs(batched.gradients()).max() > 1e-3
    np.testing.assert_allclose(split.gradients(), batched.gradients(), rtol=1e-5, atol=1e-7)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("batch_size", [128, 0])
def test_cuda_graphs_match_cpu(batch_size):
    """Full blocks replay one captured graph; shorter ones replay graphs of cursor steps."""
    sizes = [2, 16, 16, 16, 1]
    cpu = StepEngine(EngineSpec(sizes, "relu", [2, 5], batch_size, block=32), TARGET, "cpu")
    gpu = StepEngine(EngineSpec(sizes, "relu", [2, 5], batch_size, block=32), TARGET, "cuda")
    assert gpu.use_graphs
    first, total = 0, 13 + 31 + 32 + 1 + 27
    for count in (13, 31, 32, 1, 27):  # a full block's capture comes after a cursor left at 31
        rates = learning_rates(1e-3, "cosine", first, count, total)
        for engine in (cpu, gpu):
            engine.prepare_block(first, count, rates)
            assert engine.run_block(count) == count
        np.testing.assert_allclose(gpu.block_losses(count), cpu.block_losses(count), rtol=1e-4, atol=1e-5)
        first += count
    assert gpu.captured_graphs == (True, [1, 8]), "full blocks ran as one captured graph; 13 = 8 + 5 x 1, ..."
    np.testing.assert_allclose(gpu.parameters(), cpu.parameters(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(gpu.domain_loss(), cpu.domain_loss(), rtol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_through_the_cli(tmp_path, cli):
    out = tmp_path / "cuda.npz"
    result = cli("train", "--device", "cuda", "--image", "circle", "--resolution", "64", "--steps", "3000",
                 "--out", out)
    assert result.returncode == 0, result.stderr
    from ginn_gl.core.runfile import load_run

    run = load_run(out)
    assert run.meta["device"].startswith("cuda") and run.steps[-1] == 3000
    assert run.snap_loss[-1] < run.snap_loss[0]


@pytest.mark.parametrize("batch_size", [128, 0])
def test_the_softmax2_head_trains_like_two_logits_under_cross_entropy(batch_size):
    """The original GINN's last layer: nn.Linear(16, 2), softmax cross-entropy, torch.optim.Adam, from
    the same seed on the same minibatches; p(white) = softmax(z)[1] against the engine's one logit."""
    sizes = [2, 16, 16, 16, 1]
    seed, steps = 7, 300
    engine = StepEngine(EngineSpec(sizes, "relu", [seed], batch_size, block=100, head="softmax2"), TARGET)
    reference = load_flat(reference_module([2, 16, 16, 16, 2], "relu"),
                          init_parameters([2, 16, 16, 16, 2], torch.Generator().manual_seed(seed)))
    opt = torch.optim.Adam(reference.parameters(), lr=1e-3)
    table = engine.table
    points = table[:, :2]
    for first in range(0, steps, 100):
        rates = learning_rates(1e-3, "cosine", first, 100, steps)
        engine.prepare_block(first, 100, rates)
        for k in range(100):
            rows = table if batch_size == 0 else table[engine.index_buf[k]]
            for group in opt.param_groups:
                group["lr"] = float(rates[k])
            loss = F.cross_entropy(reference(rows[:, :2]), rows[:, 3].long())
            opt.zero_grad()
            loss.backward()
            opt.step()
        engine.run_block(100)
        with torch.no_grad():
            expected = torch.softmax(reference(points), dim=1)[:, 1].numpy()
        # Float32 sums in another order than autograd's, which Adam's normalised steps amplify: 2.2e-5 seen.
        np.testing.assert_allclose(engine.predict(points.numpy())[0], expected, atol=4e-5)
        assert engine.block_losses(100)[-1, 0] == pytest.approx(loss.item(), rel=1e-4)
    # The run layout holds the effective one-logit layer: the difference of the two rows (to float32
    # noise, which Adam's normalised steps amplify where a gradient is near zero).
    w, b = reference[-1].weight.detach().numpy(), reference[-1].bias.detach().numpy()
    np.testing.assert_allclose(engine.parameters()[0][-17:], np.append(w[1] - w[0], b[1] - b[0]), atol=3e-4)
