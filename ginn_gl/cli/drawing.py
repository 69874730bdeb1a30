"""`render` and `export`: a run drawn with no display (EGL), written atomically, never over an
existing output unless --overwrite."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ginn_gl.cli.arguments import parse_size, view_from_args
from ginn_gl.cli.progress import ProgressBar
from ginn_gl.core.errors import UserError
from ginn_gl.core.outputs import absolute, check_frames_folder, check_output, free_name, write_atomically
from ginn_gl.core.resources import available_bytes
from ginn_gl.core.runfile import Run, load_side_by_side, printable
from ginn_gl.core.selection import locate
from ginn_gl.core.targets import sized
from ginn_gl.core.view import MAX_CELLS, grid_shape

DEFAULT_FRAMES = 300  # an export without --frames: at most this many snapshots, evenly in index
DEFAULT_RENDER = 800  # pixels on the long side of a render without --size
BYTES_PER_PIXEL = 24  # what drawing a large PNG holds per pixel at its peak (tiled drawing, RGB, PNG encoder)


def solo_note(run, index: int, solo: int | None) -> str:
    """Why a --solo picture may show no line: the neuron is dead or always on at that snapshot."""
    if solo is None or run.status is None or run.status[index, solo] not in (0, 1):
        return ""
    layer, neuron = locate(run.layers, solo)
    state = ("dead", "always on")[run.status[index, solo]]
    return f"; neuron {layer}:{neuron} is {state} at this step, so its line does not cross the picture"


def in_force_note(asked: int | None, shown: int) -> str:
    return "" if asked is None or asked == shown else f" (the snapshot in force at step {asked:,})"


def pick_snapshot(run, snapshot: int | None, step: int | None) -> int:
    """Index of the snapshot to show: by index (negative from the end) or by step (the one in force then)."""
    count = len(run)
    name = printable(run.path)
    if step is not None:
        return run.in_force(step)
    index = -1 if snapshot is None else snapshot
    if not -count <= index < count:
        raise UserError(f"--snapshot {index} is out of range; {name} holds {count} snapshots "
                        f"(0..{count - 1}, or -1 for the last)")
    return index % count


def check_memory(width: int, height: int) -> None:
    need = width * height * BYTES_PER_PIXEL
    if need > available_bytes():
        raise UserError(f"--size {width}x{height} needs about {need / 2**30:.1f} GB to draw, and this machine has "
                        f"{available_bytes() / 2**30:.1f} GB available; give a smaller --size")


def run_names(paths: list[str]) -> list[str]:
    """Cell labels: the files' names without .npz (the seed is in the default names)."""
    return [printable(Path(path).stem) for path in paths]


def cmd_render(args: argparse.Namespace) -> int:
    from PIL import Image

    from ginn_gl.render.export import frames, snapshot_at

    if args.snapshot is not None and args.step is not None:
        raise UserError("give --snapshot or --step, not both")
    folder = args.out.strip() != "" and absolute(args.out).is_dir()  # a default name inside, as train does
    if not folder:
        if Path(args.out).exists() and not Path(args.out).is_file():
            check_output(args.out, "--out", args.overwrite)  # a device or a pipe: refused, never written
        if Path(args.out).suffix.lower() not in (".png", ".svg", ""):
            raise UserError(f"--out {printable(args.out)!r}: render writes PNG or SVG; end the name in .png or .svg")
        vector = Path(args.out).suffix.lower() == ".svg"
        out = check_output(args.out if not args.out.strip() or vector else str(Path(args.out).with_suffix(".png")),
                           "--out", args.overwrite, inputs=args.runs)
    runs = load_side_by_side(args.runs, MAX_CELLS)
    if not folder and vector:
        return render_vector(args, runs, out)
    shape = runs[0].target.shape
    if args.size:
        size = parse_size(args.size)
    else:  # the picture's proportions (a grid's cells are square)
        size = sized(shape[1], shape[0], DEFAULT_RENDER) if len(runs) == 1 else (DEFAULT_RENDER, DEFAULT_RENDER)
    if len(runs) == 1:
        run = runs[0]
        index = pick_snapshot(run, args.snapshot, args.step)
        step = int(run.steps[index])
    else:  # a grid: one step for all, each run at its newest snapshot at or before it
        if size[0] != size[1]:
            raise UserError(f"--size {args.size!r}: a grid's cells are square; give one number, e.g. --size 400")
        if args.snapshot is not None:
            raise UserError("--snapshot picks by index, which differs between runs; give --step N for a grid")
        step = max(int(run.steps[-1]) for run in runs) if args.step is None else args.step
        first = min(int(run.steps[0]) for run in runs)
        if step < first:
            raise UserError(f"--step {step} is before every run's first snapshot (step {first:,}); give a later step")
    columns, rows = grid_shape(len(runs))
    if folder:
        stem = Path(args.runs[0]).stem if len(runs) == 1 else "grid"
        out = check_output(free_name(absolute(args.out) / f"{stem}-step{step}.png"), "--out", inputs=args.runs)
    check_memory(size[0] * columns, size[1] * rows)
    view = view_from_args(args, runs[0].layers, shape, size[0] / size[1])
    if len(runs) == 1:
        pixels = single_image(runs[0], index, size, view)
    else:
        images = frames(runs, [step], size[0], view, not args.no_label, run_names(args.runs))
        pixels = next(images)
        images.close()  # releases the GL context now
    try:
        out = write_atomically(out, lambda tmp: Image.fromarray(pixels).save(tmp, format="PNG"), args.overwrite)
    except OSError as exc:
        raise UserError(f"cannot write {printable(out)} ({exc.strerror or exc}); give a writable path") from None
    lines = 1 if view.solo is not None else \
        int(view.shown.sum()) + int(view.highlighted is not None and not view.shown[view.highlighted])
    if len(runs) == 1:
        print(f"wrote {printable(out)}: {size[0]}x{size[1]}, {view.background} view of step {step:,}"
              + in_force_note(args.step, step) + " "
              f"(snapshot {index + 1} of {len(run)}, --snapshot {index}), {lines} of {len(view.shown)} neuron lines"
              + solo_note(run, index, view.solo))
    else:
        shown = ", ".join(f"{int(run.steps[snapshot_at(run, step)]):,}" for run in runs)
        print(f"wrote {printable(out)}: {columns}x{rows} grid of {len(runs)} runs, {size[0]} px cells, "
              f"{view.background} view at step {step:,} (their snapshots at steps {shown})")
    return 0


def render_vector(args: argparse.Namespace, runs: list[Run], out: Path) -> int:
    """render --out FILE.svg: one run's snapshot as a vector figure (render/vector.py)."""
    from ginn_gl.render.vector import svg_of_run

    if len(runs) > 1:
        raise UserError(f"--out {printable(str(out))}: an SVG shows one run; give one run file, or a .png name")
    run = runs[0]
    size = parse_size(args.size) if args.size else sized(run.target.shape[1], run.target.shape[0], DEFAULT_RENDER)
    index = pick_snapshot(run, args.snapshot, args.step)
    view = view_from_args(args, run.layers, run.target.shape, size[0] / size[1])
    text = svg_of_run(run, index, size, view, f"{run_names(args.runs)[0]}, step {int(run.steps[index]):,}")

    def written(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    try:
        out = write_atomically(out, written, args.overwrite)
    except OSError as exc:
        raise UserError(f"cannot write {printable(out)} ({exc.strerror or exc}); give a writable path") from None
    polygons, lines = text.count("<polygon"), text.count(' id="n')
    print(f"wrote {printable(out)}: {size[0]}x{size[1]} vector figure, {view.background} view of step "
          f"{int(run.steps[index]):,}{in_force_note(args.step, int(run.steps[index]))} "
          f"(snapshot {index + 1} of {len(run)}), {polygons} region polygons, "
          f"{lines} neuron lines" + solo_note(run, index, view.solo))
    return 0


def single_image(run, index: int, size: tuple[int, int], view, ctx=None) -> np.ndarray:
    """One run's snapshot at any size (tiled when larger than the GPU's limit); in `ctx` when given
    (the Python API reuses one, current, and keeps it), else in a headless context of its own."""
    from ginn_gl.render.context import headless_context
    from ginn_gl.render.renderer import NetworkRenderer, render_image

    own = ctx is None
    ctx = headless_context() if own else ctx
    renderer = NetworkRenderer(ctx, run.layers, run.activation)
    try:
        renderer.set_weights(run.weights[index])
        renderer.set_target(run.target_at(int(run.steps[index])))  # the version in force at the step
        return render_image(ctx, renderer, size, view, channels=3)
    finally:
        renderer.release()
        if own:
            ctx.release()


def cmd_export(args: argparse.Namespace) -> int:
    from ginn_gl.render.export import frames, grid_steps, output_format, pick_steps, write

    kind = output_format(Path(args.out))
    if kind == "folder":
        out = check_frames_folder(args.out, "--out", args.overwrite, inputs=args.runs)
    else:
        out = check_output(args.out, "--out", args.overwrite, inputs=args.runs)
    if kind == "html":
        return export_page(args, out)
    runs = load_side_by_side(args.runs, MAX_CELLS)
    size = parse_size(args.size)
    if size[0] != size[1]:
        raise UserError(f"--size {args.size!r}: exports are square; give one number, e.g. --size 400")
    side, note = size[0], ""
    columns, rows = grid_shape(len(runs))
    if kind == "mp4" and (side * columns % 2 or side * rows % 2):  # H.264 in yuv420p needs even sizes
        side, note = side + 1, f" ({size[0]} rounded up to {side + 1}: H.264 needs an even size)"
    check_memory(side * columns, side * rows)
    if not (0.1 <= args.fps <= 240):
        raise UserError(f"--fps {args.fps} is out of range; use 0.1 to 240")
    wanted = parse_frames(args.frames)
    view = view_from_args(args, runs[0].layers, runs[0].target.shape)
    steps = pick_steps(grid_steps(runs), wanted)
    bar = ProgressBar(len(steps), unit="frame")
    started = time.perf_counter()

    def shown(images):
        for done, pixels in enumerate(images, start=1):
            yield pixels
            elapsed = time.perf_counter() - started
            bar.update(done, done / elapsed if elapsed else 0.0, f"{elapsed / done * 1e3:.0f} ms/frame",
                       final=done == len(steps))

    try:
        count = 0

        def written(tmp: Path) -> None:
            nonlocal count
            images = frames(runs, steps, side, view, not args.no_label, run_names(args.runs))
            count = write(tmp, kind, shown(images), args.fps)

        out = write_atomically(out, written, args.overwrite)
    except OSError as exc:
        raise UserError(f"cannot write {printable(out)} ({exc.strerror or exc}); the old file, if any, is kept; "
                        "give a writable path with room") from None
    seconds = time.perf_counter() - started
    what = f"{len(runs[0])} snapshots" if len(runs) == 1 else \
        f"{len(runs)} runs in a {columns}x{rows} grid ({len(grid_steps(runs))} steps recorded)"
    print(f"wrote {printable(out)}: {count} frames ({kind}) of {what}, steps {steps[0]:,} to {steps[-1]:,}, "
          f"{side}x{side}{' cells' if len(runs) > 1 else ''}{note}, in {seconds:.1f} s "
          f"({seconds / max(count, 1) * 1e3:.0f} ms a frame)")
    return 0


def export_page(args: argparse.Namespace, out: Path) -> int:
    """export --out FILE.html: the runs as one self-contained web page (drawn by the browser: no GL here)."""
    from ginn_gl.render.export import grid_steps, pick_steps, snapshot_at
    from ginn_gl.render.webpage import build_page

    runs = load_side_by_side(args.runs, MAX_CELLS)
    view = view_from_args(args, runs[0].layers, runs[0].target.shape)
    keep = None
    if args.frames is not None:  # --frames N: the snapshots a video's frames would show, else all of them
        steps = pick_steps(grid_steps(runs), parse_frames(args.frames))
        keep = [np.unique([snapshot_at(run, step) for step in steps]) for run in runs]
    html = build_page(runs, run_names(args.runs), view, labels=not args.no_label, keep=keep).encode("utf-8")

    def written(tmp: Path) -> None:
        tmp.write_bytes(html)

    try:
        out = write_atomically(out, written, args.overwrite)
    except OSError as exc:
        raise UserError(f"cannot write {printable(str(out))} ({exc.strerror or exc}); the old file, if any, is kept; "
                        "give a writable path with room") from None
    snapshots = sum(len(run) for run in runs) if keep is None else sum(len(k) for k in keep)
    print(f"wrote {printable(str(out))}: a web page of {len(runs)} run{'s' if len(runs) > 1 else ''} ({snapshots:,} "
          f"snapshots, weights lossless), {len(html) / 1024:,.0f} KB; open it in a browser, no server needed")
    return 0


def parse_frames(text: str | None) -> int | None:
    """--frames N or all: None means every snapshot."""
    if text is None:
        return DEFAULT_FRAMES
    if text.strip().lower() == "all":
        return None
    try:
        frames = int(text)
    except ValueError:
        frames = 0
    if frames < 1:
        raise UserError(f"--frames {text!r} must be a number of frames from 1, or all")
    return frames
