"""Your own model, your own training loop, recorded by ginn-gl.

A plain PyTorch loop trains an nn.Sequential on a ginn-gl target; a ginn_gl.Recorder takes the
snapshots (or, with --watch, ginn_gl.watch shows them live in the window as they come). The run file
it writes is read by every ginn-gl command: `ginn-gl replay`, `render`, `export`, `info`.

    python examples/own_model.py                      # 5,000 steps on the bottle, headless
    python examples/own_model.py --watch              # the same, live in the window
    python examples/own_model.py --steps 300 --out /tmp/own.npz --png /tmp/own.png
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import ginn_gl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default="bottle", help="a built-in target or an image file (default bottle)")
    parser.add_argument("--resolution", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--out", default="runs/own-model.npz", help="the run file to write")
    parser.add_argument("--png", help="also draw the last snapshot's regions to this PNG")
    parser.add_argument("--watch", action="store_true", help="show the run live in the window")
    args = parser.parse_args()

    torch.set_num_threads(1)  # a network this small trains fastest on one thread: more only wait for each other
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 24), nn.ReLU(), nn.Linear(24, 24), nn.ReLU(), nn.Linear(24, 24), nn.ReLU(),
                          nn.Linear(24, 2))  # two logits under a softmax, as the original GINN
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=args.steps)

    about = {"resolution": args.resolution, "steps": args.steps}
    if args.watch:
        recorder: ginn_gl.Recorder = ginn_gl.watch(model, args.image, save=args.out, overwrite=True, **about)
    else:
        recorder = ginn_gl.Recorder(model, args.image, **about)
    # The training data: every pixel centre of the recorder's target, (x, y) with y downwards, and its colour.
    points = torch.tensor(recorder.points, dtype=torch.float32)
    labels = torch.tensor(recorder.target.ravel(), dtype=torch.long)

    with recorder:
        for step in range(1, args.steps + 1):
            batch = torch.randint(0, len(points), (128,))
            loss = nn.functional.cross_entropy(model(points[batch]), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            recorder.record(step, loss)  # a snapshot when the step is on ginn-gl's schedule, else nothing

    run = recorder.run()  # ends with the last step's weights; watch() has saved it already
    if not args.watch:
        run.save(args.out, overwrite=True)
    print(f"{run!r}\nsaved {args.out}: try `ginn-gl replay {args.out}`")
    if args.png:
        from PIL import Image

        Image.fromarray(run.render(size=400, view="regions")).save(args.png)
        print(f"wrote {args.png}")
    if args.watch:
        recorder.wait()  # type: ignore[attr-defined] - the window stays for scrubbing until you close it


if __name__ == "__main__":
    main()
