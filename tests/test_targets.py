from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.errors import TargetError
from ginn_gl.core.sources import load_target
from ginn_gl.core.targets import BUILTIN_DRAWERS, builtin_targets
from tests.conftest import IN_CI


def test_at_least_five_builtins_each_with_both_classes():
    names = builtin_targets()
    assert len(BUILTIN_DRAWERS) >= 5 and {"bottle", "circle", "rings", "checker", "spiral"} <= set(names)
    for name in names:
        pixels = load_target(name, 64).pixels
        assert pixels.dtype == np.uint8 and pixels.shape == (64, 64)
        assert set(np.unique(pixels)) == {0, 1}
        assert 0.05 < pixels.mean() < 0.95


def test_builtins_are_sampled_at_pixel_centres():
    # The circle of radius 0.3 about (0.5, 0.5): the centre pixel is white, a corner is black.
    pixels = load_target("circle", 10).pixels
    assert pixels[5, 5] == 1 and pixels[0, 0] == 0
    checker = load_target("checker", 8).pixels  # 4x4 squares of 2x2 pixels, top-left white
    np.testing.assert_array_equal(checker[::2, ::2], (np.add.outer(np.arange(4), np.arange(4)) % 2 == 0))


def test_image_file_is_made_grey_resized_and_thresholded(tmp_path):
    rgb = np.zeros((40, 80, 3), np.uint8)
    rgb[:, 40:] = (200, 200, 200)  # light grey right half
    rgb[:20, :40] = (0, 0, 255)  # pure blue is dark grey (29)
    path = tmp_path / "half.png"
    Image.fromarray(rgb).save(path)
    pixels = load_target(str(path), 16).pixels
    assert pixels.shape == (8, 16), "the long side at the resolution, the proportions kept"
    assert pixels[:, :7].max() == 0 and pixels[:, 9:].min() == 1
    # Transparent areas count as white paper.
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[4:12, 4:12] = (0, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    pixels = load_target(str(tmp_path / "alpha.png"), 16).pixels
    assert pixels[0, 0] == 1 and pixels[8, 8] == 0


def test_refusals(tmp_path):
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(black)
    with pytest.raises(TargetError, match="all black"):
        load_target(str(black), 16)
    with pytest.raises(TargetError, match="not found"):
        load_target(str(tmp_path / "nope.png"), 16)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(TargetError, match="cannot read"):
        load_target(str(broken), 16)
    with pytest.raises(TargetError, match="unknown image"):
        load_target("bottel", 16)


REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "gin.png"


@pytest.fixture
def gin_png():
    """The original GINN's gin.png (MIT, Luke Darlow), read from beside the checkout, never copied in."""
    if not REFERENCE.exists():
        if IN_CI:
            pytest.fail(f"CI must provide the reference image at {REFERENCE}")
        pytest.skip(f"no reference image at {REFERENCE}")
    return REFERENCE


def test_the_built_in_bottle_is_drawn_like_gin_png(gin_png):
    ours = load_target("bottle", 200).pixels
    for threshold, at_least in (("mid", 0.99), ("white", 0.97)):
        theirs = load_target(str(gin_png), 200, threshold).pixels
        assert (ours == theirs).mean() >= at_least, threshold
    # the label: a large white diamond, a thin black ring, a thin white ring, on the black body
    row = ours[123]  # through the label's centre (0.617 of the height)
    assert row[100] == 1 and row[62] == 0 and row[58] == 1 and row[54] == 0 and row[20] == 1


def test_the_white_threshold_is_the_originals_rule(gin_png, tmp_path):
    """A bilinear resize, then only pure white is white: gin.png is 67.1% white, 70.1% at mid-grey."""
    assert load_target(str(gin_png), 200, "white").pixels.mean() == pytest.approx(0.671, abs=5e-4)
    assert load_target(str(gin_png), 200, "mid").pixels.mean() == pytest.approx(0.701, abs=5e-4)
    light = np.full((8, 8), 200, np.uint8)  # light grey with one black pixel: no pure white at all
    light[0, 0] = 0
    Image.fromarray(light).save(tmp_path / "grey.png")
    assert load_target(str(tmp_path / "grey.png"), 16, "mid").pixels.mean() > 0.9
    with pytest.raises(TargetError, match="only pure white"):
        load_target(str(tmp_path / "grey.png"), 16, "white")
