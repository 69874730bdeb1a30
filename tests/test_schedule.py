import numpy as np
import pytest
import torch

from ginn_gl.core.schedule import DENSE_STEPS, learning_rates, next_snapshot_step, snapshot_steps


def test_dense_early_then_geometric():
    steps = snapshot_steps(1_280_000)
    np.testing.assert_array_equal(steps[:DENSE_STEPS + 1], np.arange(DENSE_STEPS + 1))
    gaps = np.diff(steps)
    assert np.all(gaps >= 1) and np.all(np.diff(gaps[:-1]) >= 0), "gaps never shrink"
    late = steps[(steps > 10_000) & (steps < 1_000_000)]
    ratios = late[1:] / late[:-1]
    assert np.all((ratios > 1.005) & (ratios < 1.02)), "about 1% growth per snapshot"
    assert 500 < len(steps) < 2000


@pytest.mark.parametrize("total", [1, 2, 7, 50, 51, 199, 1000, 12345, 200_000, 3_000_001])
def test_defined_for_any_length_and_ends_on_the_final_step(total):
    steps = snapshot_steps(total)
    assert steps[0] == 0 and steps[-1] == total
    assert np.all(np.diff(steps) > 0)
    assert next_snapshot_step(total - 1, total) == total


def test_cosine_matches_torch_scheduler():
    total = 1000
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    expected = []
    for _ in range(total):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(learning_rates(1e-3, "cosine", 0, total, total), expected,
                               rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(learning_rates(1e-3, "cosine", 250, 10, total), expected[250:260])
    assert np.all(learning_rates(0.5, "constant", 3, 4, total) == 0.5)


def test_the_originals_snapshots():
    """The original GINN sampled 431 iterations of 1,280,000 (iteration i after i + 1 updates)."""
    steps = snapshot_steps(1_280_000, "ginn")
    assert len(steps) == 431 + 2 and steps[0] == 0 and steps[-1] == 1_280_000, "with the initial and final"
    inner = steps[1:-1] - 1  # back to the original's iteration numbers
    np.testing.assert_array_equal(inner[:50], np.arange(50))
    assert list(inner[50:53]) == [50, 52, 54] and 101 not in inner and 105 in inner and 103 not in inner
    assert list(inner[-3:]) == [1_250_000, 1_260_000, 1_270_000] and 635_000 in inner and 640_000 in inner
    assert [next_snapshot_step(s, 1_280_000, "ginn") for s in (0, 50, 51, 1_270_001)] == [1, 51, 53, 1_280_000]
    short = snapshot_steps(5000, "ginn")
    assert short[-1] == 5000 and np.all(np.diff(short) > 0) and short[-2] == 4501
