"""Milliseconds per frame of the network view, beside the CPU way of getting the same picture.

Ours: a shader (fragment, and compute where OpenGL 4.3 is there) evaluates the 2-16-16-16-1 net
per pixel with exact forward-mode derivatives and draws all 48 neurons' zero-crossings as
anti-aliased lines (EGL, no display).
The CPU way, as the original GINN did it: a torch forward pass over the same pixel grid, then
each neuron's boundary extracted from sign changes between neighbouring pixels and composited in
its colour over the prediction. Both produce an RGB frame of the same size, in the same run.

    python bench/render.py [RUN.npz] [--repeats 5]

Without a run file it trains one briefly. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ginn_gl.core.network import grid_points
from ginn_gl.core.palette import neuron_colours
from ginn_gl.core.runfile import load_run
from ginn_gl.core.view import ViewSettings
from ginn_gl.render.context import headless_context, software_renderer
from ginn_gl.render.renderer import NetworkRenderer, OffscreenTarget, choose_shader_path
from ginn_gl.train.model import load_flat, reference_module

SIZES = [(512, 512), (1024, 1024), (1920, 1080)]


def cpu_frame(module: torch.nn.Sequential, colours: torch.Tensor, points: torch.Tensor,
              width: int, height: int) -> torch.Tensor:
    """Prediction plus every neuron's sign-change boundary, composited: uint8 [H, W, 3]."""
    with torch.no_grad():
        hidden = []
        x = points
        for layer in module:
            x = layer(x)
            if isinstance(layer, torch.nn.Linear) and x.shape[1] > 1:
                hidden.append(x)
        p = torch.sigmoid(x).reshape(height, width, 1)
        z = torch.cat(hidden, dim=1).reshape(height, width, -1) > 0
        edge = torch.zeros_like(z)
        edge[:, 1:] |= z[:, 1:] != z[:, :-1]
        edge[1:] |= z[1:] != z[:-1]
        frame = p.expand(height, width, 3).clone()
        for neuron in range(z.shape[2]):
            frame[edge[:, :, neuron]] = colours[neuron]
        return (frame * 255).round().to(torch.uint8)


def time_it(fn, repeats: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats * 1e3


def trained_run() -> Path:
    from ginn_gl.cli import main

    path = Path(tempfile.mkdtemp()) / "bench.npz"
    main(["train", "--steps", "20000", "--out", str(path)])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", help="a run file of the default 2-16-16-16-1 net")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run = load_run(args.run or trained_run())
    ctx = headless_context()
    paths = ["fragment", "compute"] if ctx.version_code >= 430 else ["fragment"]
    renderers = {}
    for path in paths:
        renderer = NetworkRenderer(ctx, run.layers, run.activation, path)
        renderer.set_weights(run.weights[-1])
        renderer.set_target(run.target)
        renderers[path] = renderer
    module = load_flat(reference_module(run.layers, run.activation), run.weights[-1])
    colours = torch.from_numpy(np.concatenate(neuron_colours(run.layers)))
    renderer = renderers["fragment"]
    print(f"GL: {ctx.info['GL_RENDERER']} ({ctx.info['GL_VERSION']}); CPU way: torch {torch.__version__} "
          f"with {torch.get_num_threads()} thread(s); {renderer.n_hidden} lines; weights in a "
          f"{'uniform block' if renderer.use_ubo else 'texture'}; the window and `render` use the "
          f"{choose_shader_path(ctx)} path here")
    print()
    software = software_renderer(ctx)
    # A software rasteriser's timer query does not time the shading; GPU times are for GPUs only.
    header = " | ".join(f"{p} (ms/frame) | {p} GPU time (ms)" for p in paths)
    print(f"| frame | {header} | CPU way (ms/frame) | CPU / best shader |")
    print("|---|" + "---:|" * (2 * len(paths) + 2))
    for width, height in SIZES:
        target = OffscreenTarget(ctx, width, height)
        options = ViewSettings(run.layers)  # every line drawn
        cells, best = [], float("inf")
        for path in paths:
            def gl_frame(target=target, width=width, height=height, options=options, r=renderers[path]):
                with target:
                    r.draw((0, 0, width, height), options)
                ctx.finish()

            shader_ms = time_it(gl_frame, args.repeats)
            query = ctx.query(time=True)
            with query:
                gl_frame()
            gpu_ms = "n/a (CPU)" if software else f"{query.elapsed / 1e6:.3f}"
            cells += [f"{shader_ms:.2f}", gpu_ms]
            best = min(best, shader_ms)
        points = torch.from_numpy(grid_points(height, width).astype(np.float32))
        cpu_ms = time_it(lambda p=points, w=width, h=height: cpu_frame(module, colours, p, w, h), args.repeats)
        target.release()
        print(f"| {width}x{height} | {' | '.join(cells)} | {cpu_ms:.1f} | {cpu_ms / best:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
