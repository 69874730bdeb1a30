"""Does ginn-gl learn gin.png as the original GINN did? The original's training loop, written from its
published facts (2-16-16-16-2 ReLU, nn.Linear's default initialisation, softmax cross-entropy, Adam
1e-3 with cosine annealing over 1,280,000 iterations, minibatches of 128 pixels drawn with
replacement, gin.png resized bilinearly to 200x200 and white only where pure white, inputs
(row / 200, column / 200)), beside `ginn-gl train --ginn` through the same Trainer, for the same
seeds. Prints the full-image loss after the original's iterations 100, 300, 1000 and 5000 (each
after i + 1 updates, as the original sampled them), mean and standard error over the seeds.

    python bench/fidelity.py [--seeds 12] [--image ../shared/reference/gin.png] [--also-sigmoid]

Target: at iterations 300 and 1,000 the mean losses are within two of the original's standard errors.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ginn_gl.cli.commands import prepare_process
from ginn_gl.core.config import GINN, TrainConfig
from ginn_gl.core.sources import load_target
from ginn_gl.train.model import reference_module
from ginn_gl.train.trainer import Trainer

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "gin.png"
ITERATIONS = (100, 300, 1000, 5000)
CHECKED = (300, 1000)
GINN_STEPS = 1_280_000


def original_loop(target: np.ndarray, seed: int) -> dict[int, float]:
    """The original's loop: full-image loss after each of ITERATIONS (iteration i: after i + 1 updates)."""
    torch.manual_seed(seed)
    model = reference_module([2, 16, 16, 16, 2], "relu")  # nn.Linear defaults, drawn after manual_seed
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=GINN_STEPS, eta_min=0)
    height, width = target.shape
    rows, cols = np.divmod(np.arange(height * width), width)
    inputs = torch.from_numpy(np.stack([rows / height, cols / width], axis=1).astype(np.float32))
    labels = torch.from_numpy(target.reshape(-1).astype(np.int64))
    draws = torch.Generator().manual_seed(seed)
    losses = {}
    for iteration in range(max(ITERATIONS) + 1):
        batch = torch.randint(0, height * width, (128,), generator=draws)
        loss = F.cross_entropy(model(inputs[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if iteration in ITERATIONS:
            with torch.no_grad():
                losses[iteration] = F.cross_entropy(model(inputs), labels).item()
    return losses


def ginn_gl_run(config: TrainConfig) -> dict[int, float]:
    """`ginn-gl train` with `config` through the Trainer, stopped once the last iteration is recorded."""
    target = load_target(config.image, config.resolution, config.threshold)
    trainer = Trainer(config, target).start()
    wanted = max(ITERATIONS) + 1
    while trainer.histories[0].latest_step() < wanted and trainer.alive:
        time.sleep(0.01)
    trainer.finish(wait=False)
    history = trainer.histories[0]
    losses = {}
    for iteration in ITERATIONS:
        snapshot = history.read(iteration + 1)
        assert snapshot.step == iteration + 1, f"no snapshot after {iteration + 1} updates"
        losses[iteration] = snapshot.loss
    return losses


def summary(runs: list[dict[int, float]]) -> dict[int, tuple[float, float]]:
    """Mean and standard error over the runs, per iteration."""
    out = {}
    for iteration in ITERATIONS:
        values = np.array([run[iteration] for run in runs])
        out[iteration] = (values.mean(), values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--image", default=str(REFERENCE))
    parser.add_argument("--also-sigmoid", action="store_true",
                        help="also run ginn-gl with one sigmoid logit and the mid-grey threshold (its old defaults)")
    args = parser.parse_args()
    if not Path(args.image).exists():
        raise SystemExit(f"no image at {args.image}; give --image PATH/TO/gin.png")
    prepare_process(training=True)
    torch.set_num_threads(1)  # both sides alike
    seeds = list(range(args.seeds))
    target = load_target(args.image, 200, "white").pixels
    ginn = TrainConfig(image=args.image, device="cpu", **GINN)
    variants = {"ginn-gl train --ginn": ginn}
    if args.also_sigmoid:
        variants["ginn-gl --ginn --head sigmoid --threshold mid"] = replace(ginn, head="sigmoid", threshold="mid")
    started = time.perf_counter()
    results = {"original (written from its facts)": summary([original_loop(target, seed) for seed in seeds])}
    for label, config in variants.items():
        results[label] = summary([ginn_gl_run(replace(config, seeds=(seed,))) for seed in seeds])
    print(f"full-image loss on {Path(args.image).name}, mean (standard error) over {len(seeds)} seeds, "
          f"{time.perf_counter() - started:.0f} s")
    print()
    print("| after iteration | " + " | ".join(str(i) for i in ITERATIONS) + " |")
    print("|---|" + "---:|" * len(ITERATIONS))
    for label, stats in results.items():
        print(f"| {label} | " + " | ".join(f"{m:.3f} ({s:.3f})" for m, s in stats.values()) + " |")
    print()
    original = results["original (written from its facts)"]
    ours = results["ginn-gl train --ginn"]
    met = True
    for iteration in CHECKED:
        (mo, so), (mg, sg) = original[iteration], ours[iteration]
        within = abs(mg - mo) <= 2 * so
        met &= within
        print(f"iteration {iteration:,}: ginn-gl {mg:.3f} ({sg:.3f}) vs original {mo:.3f} ({so:.3f}), "
              f"difference {mg - mo:+.3f} = {(mg - mo) / so:+.2f} of the original's standard errors "
              f"({'within' if within else 'NOT within'} 2)")
    print("target met" if met else "target NOT met")


if __name__ == "__main__":
    main()
