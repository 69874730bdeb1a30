"""A run's history as a video, an animated GIF or a folder of PNGs, drawn with no display (EGL)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ginn_gl.core.errors import UserError
from ginn_gl.core.outputs import write_manifest
from ginn_gl.core.runfile import Run
from ginn_gl.core.view import ViewSettings, grid_shape, view_for
from ginn_gl.render.context import headless_context
from ginn_gl.render.renderer import NetworkRenderer, render_image


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".mp4", ".gif", ".html"):
        return suffix[1:]
    if suffix == "" or path.is_dir():
        return "folder"
    raise UserError(f"--out {path}: unknown kind of output; end it in .mp4, .gif or .html, or give a folder for PNGs")


def label_font(cell: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A font for labels on cells `cell` pixels wide: scalable where Pillow has FreeType (10.1+)."""
    try:
        return ImageFont.load_default(size=int(np.clip(cell // 25, 11, 18)))
    except (TypeError, ImportError, OSError):  # an older Pillow or no FreeType: the bitmap font
        return ImageFont.load_default()


def fit_label(parts: list[str], width: int, font) -> str:
    """`parts` joined, as many as fit in `width` pixels from the first (the name is shortened last)."""
    for count in range(len(parts), 0, -1):
        text = "   ".join(parts[:count])
        if font.getlength(text) <= width:
            return text
    text = parts[0]
    while len(text) > 1 and font.getlength(text + "...") > width:
        text = text[:-1]
    return text + "..."


def label_image(pixels: np.ndarray, text: str, font=None) -> np.ndarray:
    """A white label on black at the top left of a frame or a cell."""
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    font = font or label_font(image.width)
    box = draw.textbbox((6, 5), text, font=font)
    draw.rectangle((box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2), fill=(0, 0, 0))
    draw.text((6, 5), text, fill=(255, 255, 255), font=font)
    return np.asarray(image)


def snapshot_at(run: Run, step: int) -> int:
    """Index of the run's newest snapshot at or before `step` (its first when none is)."""
    return max(int(np.searchsorted(run.steps, step, side="right")) - 1, 0)


def grid_steps(runs: list[Run]) -> np.ndarray:
    """The steps a grid can show: every run's snapshot steps, merged."""
    return np.unique(np.concatenate([run.steps for run in runs]))


def frames(runs: list[Run], steps: list[int], size: int, view: ViewSettings, label: bool,
           names: list[str] | None = None) -> Generator[np.ndarray, None, None]:
    """RGB uint8 frames, one per step: each run's newest snapshot at or before it, `size` pixels a
    side, in a grid when there are several runs (`names` label their cells)."""
    ctx = headless_context()
    renderers = {}
    for run in runs:
        key = (tuple(run.layers), run.activation)
        if key not in renderers:
            renderers[key] = NetworkRenderer(ctx, run.layers, run.activation)
    columns, rows = grid_shape(len(runs))
    font = label_font(size)
    try:
        for step in steps:
            frame = np.zeros((rows * size, columns * size, 3), dtype=np.uint8)
            for k, run in enumerate(runs):
                index = snapshot_at(run, step)
                renderer = renderers[(tuple(run.layers), run.activation)]
                renderer.set_target(run.target_at(int(run.steps[index])))  # the version in force then
                renderer.set_weights(run.weights[index])
                pixels = render_image(ctx, renderer, (size, size), view_for(view, run.layers), channels=3)
                if label:  # the name, the step and the loss, as many as the cell has room for
                    parts = [f"step {int(run.steps[index]):,}", f"loss {float(run.snap_loss[index]):.4f}"]
                    if names is not None and len(runs) > 1:
                        parts.insert(0, names[k])
                    pixels = label_image(pixels, fit_label(parts, size - 12, font), font)
                row, column = divmod(k, columns)
                frame[row * size:(row + 1) * size, column * size:(column + 1) * size] = pixels
            yield frame
    finally:
        for renderer in renderers.values():
            renderer.release()
        ctx.release()


def write(path: Path, kind: str, images: Iterator[np.ndarray], fps: float) -> int:
    """Write the frames to `path` (a temporary name: the format is `kind`, not the name's suffix);
    returns how many were written. An encoder that fails is one line naming its reason."""
    count = 0
    if kind == "folder":
        path.mkdir(parents=True)
        names: list[str] = []
        for count, pixels in enumerate(images, start=1):
            names.append(f"frame-{count - 1:05d}.png")
            Image.fromarray(pixels).save(path / names[-1], format="PNG")
        write_manifest(path, names)  # what a later --overwrite may remove, and nothing else
        return count
    if kind == "gif":
        pictures = [Image.fromarray(pixels).quantize(colors=256, dither=Image.Dither.NONE) for pixels in images]
        pictures[0].save(path, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=int(round(1000 / fps)), loop=0)
        return len(pictures)
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise UserError("writing .mp4 needs imageio and imageio-ffmpeg: pip install 'ginn-gl[video]'; "
                        "or export a .gif or a folder of PNGs") from None
    try:
        writer = imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", quality=8, macro_block_size=1)
        with writer:
            for pixels in images:
                writer.append_data(pixels)
                count += 1
    except (ImportError, RuntimeError, ValueError, BrokenPipeError) as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else exc.__class__.__name__
        raise UserError(f"the video encoder failed ({reason}); pip install 'ginn-gl[video]', or export a .gif "
                        "or a folder of PNGs") from None
    return count


def pick_steps(steps: np.ndarray, max_frames: int | None) -> list[int]:
    """Every step (None), or at most `max_frames` spread evenly in snapshot index, which keeps the
    history's density: dense early (first and last included)."""
    count = len(steps)
    if max_frames is None or max_frames >= count:
        return [int(s) for s in steps]
    return [int(steps[i]) for i in sorted({int(round(i)) for i in np.linspace(0, count - 1, max_frames)})]
