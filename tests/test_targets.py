import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.errors import TargetError
from ginn_gl.core.targets import BUILTIN_DRAWERS, builtin_targets, load_target


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
    assert pixels.shape == (16, 16)
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
