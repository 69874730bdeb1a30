"""Training targets: black-and-white images as uint8 arrays of 0 (black) and 1 (white).

Built-in targets are drawn by code, evaluated exactly at the pixel centres the network is trained
on, so they are sharp at any resolution; `assets/targets/*.pbm` adds hand-drawn ones, and any
PNG/JPEG/BMP path works too.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ginn_gl.core.errors import TargetError
from ginn_gl.core.network import grid_points
from ginn_gl.core.resources import asset_path

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

BOTTLE_PX = 420.0  # the built-in bottle's coordinates are gin.png's pixels
THRESHOLDS = ("mid", "white")


@dataclass(frozen=True)
class Target:
    name: str  # a built-in name or the image path as given
    pixels: np.ndarray  # uint8 [H, W] of 0 and 1; row 0 is the top of the picture
    source: str = "built-in"  # what was read: the image file's absolute path, or "built-in"
    sha256: str = ""  # of the image file's bytes (built-in: of the drawn target's pixels)

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape  # type: ignore[return-value]

    @property
    def extent(self) -> tuple[float, float]:
        return extent(self.shape)


def extent(shape: tuple[int, ...]) -> tuple[float, float]:
    """The input plane a target of `shape` (H, W) covers: x in [0, W/L], y in [0, H/L], L its long side.
    A picture keeps its proportions; a square one covers [0, 1]^2. Pixel (r, c) is the point
    ((c + 0.5)/L, (r + 0.5)/L)."""
    height, width = int(shape[0]), int(shape[1])
    long = max(height, width)
    return width / long, height / long


def sized(width: int, height: int, resolution: int) -> tuple[int, int]:
    """(W, H) of a picture of `width` x `height` with its long side at `resolution`: proportions kept."""
    long = max(width, height)
    return max(1, round(resolution * width / long)), max(1, round(resolution * height / long))


def target_points(shape: tuple[int, ...]) -> np.ndarray:
    """The pixel-centre points [H*W, 2] a target of `shape` is trained on (see `extent`)."""
    height, width = int(shape[0]), int(shape[1])
    return grid_points(height, width, (0.0, 0.0, *extent(shape)))


def _inside_polygon(x: np.ndarray, y: np.ndarray, poly: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule point-in-polygon test, vectorised over the grid."""
    inside = np.zeros(x.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_at)
    return inside


def _rounded_rect(x, y, x0, y0, x1, y1, r):
    qx = np.maximum(np.maximum(x0 + r - x, x - (x1 - r)), 0.0)
    qy = np.maximum(np.maximum(y0 + r - y, y - (y1 - r)), 0.0)
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1) & (qx * qx + qy * qy <= r * r)


def _bottle(x, y):
    """The original GINN's gin bottle (gin.png, 420 px square), redrawn from its measured geometry:
    a black bottle (cap, neck, straight shoulders, body with rounded bottom corners) whose label is
    a thin white ring, a thin black ring and a large white diamond."""
    x, y = x * BOTTLE_PX, y * BOTTLE_PX  # in the reference picture's pixels, y downwards
    cap = (x >= 177) & (x < 243) & (y >= 6) & (y < 49)
    neck = (x >= 182) & (x < 238) & (y >= 49) & (y < 78)
    shoulders = _inside_polygon(x, y, [(182, 77.5), (238, 77.5), (309, 113), (309, 120), (111, 120), (111, 113)])
    body = _rounded_rect(x, y, 111, 113, 309, 413, 8)
    d = np.abs(x - 210) + np.abs(y - 259)  # L1 distance from the label's centre: diamonds
    label = (d < 75) | ((d > 82) & (d < 93))
    return ~(cap | neck | shoulders | body) | label


def _circle(x, y):
    return (x - 0.5) ** 2 + (y - 0.5) ** 2 <= 0.3**2


def _rings(x, y):
    r = np.hypot(x - 0.5, y - 0.5)
    return (r < 0.45) & (np.floor(r / 0.09) % 2 == 0)


def _checker(x, y):
    return (np.floor(x * 4) + np.floor(y * 4)) % 2 == 0


def _spiral(x, y):
    """Two interleaved arms of an Archimedean spiral."""
    dx, dy = x - 0.5, y - 0.5
    r = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    turns = (r / 0.14 - theta / (2 * math.pi)) % 1.0
    return (r < 0.45) & (turns < 0.5)


def _moons(x, y):
    """Two interlocking half-moons, the classic toy classification set."""
    def arc(cx, cy, upper):
        r = np.hypot(x - cx, y - cy)
        side = (y <= cy) if upper else (y >= cy)
        return (np.abs(r - 0.25) <= 0.055) & side
    # sklearn's layout: the lower moon's centre is one radius right and half a radius down.
    return arc(0.375, 0.44, True) | arc(0.625, 0.565, False)


BUILTIN_DRAWERS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str]] = {
    "bottle": (_bottle, "the original GINN's gin bottle: a black bottle with a diamond label"),
    "circle": (_circle, "a white disc on black: the simplest closed boundary"),
    "rings": (_rings, "concentric rings: nested curved boundaries"),
    "checker": (_checker, "a 4x4 checkerboard: many straight edges"),
    "spiral": (_spiral, "a two-armed spiral: hard for a small network"),
    "moons": (_moons, "two interlocking half-moons"),
}

DEFAULT_IMAGE = "bottle"


def _asset_targets() -> dict[str, Path]:
    folder = asset_path("targets")
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.pbm"))}


def builtin_targets() -> dict[str, str]:
    """Name -> one-line description of every built-in target."""
    names = {name: desc for name, (_, desc) in BUILTIN_DRAWERS.items()}
    for name, path in _asset_targets().items():
        first = path.read_text(encoding="ascii", errors="replace").splitlines()[1:2]
        desc = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else path.name
        names.setdefault(name, desc)
    return names


def draw_builtin(name: str, resolution: int) -> np.ndarray:
    drawer = BUILTIN_DRAWERS[name][0]
    points = grid_points(resolution, resolution).reshape(resolution, resolution, 2)
    return drawer(points[..., 0], points[..., 1]).astype(np.uint8)


_PIL_GUARD = threading.Lock()
MAX_IMAGE_PIXELS = 150_000_000  # a 12,000 x 12,000 scan is fine; a 30,000 x 30,000 bomb is refused
DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # more than 8 bits a pixel


def _levels(image: PILImage) -> tuple[PILImage, float]:
    """The image as grey levels to resize and threshold: (a PIL image of mode L or F, its white level).
    16-bit and 32-bit integers are read as their type's range (I;16 clips to 8 bits otherwise, so
    0.3% grey would count as white); floats as 0..1 when they lie there, else their own min..max."""
    from PIL import Image

    if image.mode not in DEEP_MODES:
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # Transparent areas count as the white page they are usually shown on.
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        return image.convert("L"), 255.0
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        low, high = (0.0, 1.0) if values.min() >= 0 and values.max() <= 1 else (values.min(), values.max())
    else:
        low, high = 0.0, 65535.0 if values.max() <= 65535 else 2.0**32 - 1
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return Image.fromarray(scaled.astype(np.float32), mode="F"), 1.0


def load_image_file(path: Path, resolution: int, threshold: str = "mid") -> np.ndarray:
    """An image file as a 0/1 target. mid: resized smoothly, white at mid-grey and above; white: the
    original GINN's rule, resized bilinearly and white only where pure white (grey // 255)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with _PIL_GUARD:  # PIL's own guard, off only while this header is read: ours (below) names the size
            guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                image = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = guard
        with image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise TargetError(f"image {path} is {width}x{height} pixels, more than the "
                                  f"{MAX_IMAGE_PIXELS // 10**6} million ginn-gl reads; scale it down first")
            image.load()
            grey, white = _levels(image)
    except FileNotFoundError:
        raise TargetError(f"image not found: {path}; give an existing PNG/JPEG/BMP file or a "
                          f"built-in name ({', '.join(builtin_targets())})") from None
    except IsADirectoryError:
        raise TargetError(f"{path} is a folder; give an image file (PNG/JPEG/BMP)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise TargetError(f"cannot read image {path} ({exc.__class__.__name__}); "
                          "give a PNG, JPEG or BMP file") from None
    size = sized(grey.width, grey.height, resolution)  # the long side at `resolution`: proportions kept
    if threshold == "white":
        levels = np.asarray(grey.resize(size, Image.Resampling.BILINEAR), dtype=np.float64)
        return (levels >= white - (0.5 if white > 1 else 1e-5)).astype(np.uint8)  # pure white only
    resample = Image.Resampling.LANCZOS if grey.width > size[0] else Image.Resampling.BICUBIC
    levels = np.asarray(grey.resize(size, resample), dtype=np.float64)
    return (levels >= (128 if white > 1 else 0.5)).astype(np.uint8)


def load_picture(spec: str, resolution: int, threshold: str = "mid") -> Target:
    """A built-in name or an image path -> Target, refusing images with nothing to learn (run files as
    targets: core.sources.load_target). `resolution` comes from a TrainConfig, which has validated it.
    """
    if not spec.strip():
        raise TargetError("the image name is empty; give a built-in name (see `ginn-gl images`) or an image file")
    file: Path | None = None
    if spec in BUILTIN_DRAWERS:
        pixels = draw_builtin(spec, resolution)
    elif spec in (assets := _asset_targets()):
        file = assets[spec]
        pixels = load_image_file(file, resolution, threshold)
    else:
        file = Path(spec).expanduser()
        if not file.exists() and file.suffix == "":
            raise TargetError(f"unknown image {spec!r}; use one of {', '.join(builtin_targets())} "
                              "or the path of a PNG/JPEG/BMP file")
        pixels = load_image_file(file, resolution, threshold)
    white = float(pixels.mean())
    if white == 0.0 or white == 1.0:
        colour = "black" if white == 0.0 else "white"
        rule = "only pure white counts as white" if threshold == "white" else "thresholding at mid-grey"
        raise TargetError(f"image {spec} is all {colour} after {rule}, so there is nothing to learn; "
                          "use an image with both dark and light areas")
    if file is None:
        return Target(spec, pixels, "built-in", hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest())
    return Target(spec, pixels, str(file.resolve()), file_sha256(file))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
