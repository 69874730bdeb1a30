import colorsys

import numpy as np

from ginn_gl.core.palette import layer_colours, neuron_colours

ORIGINAL = {0: ["#00b6ff", "#00a2ff", "#0078ff"], 1: ["#ff623f", "#ff4b32", "#ff1f00"],
            2: ["#c3ff17", "#a8ff0f", "#63ee03"]}


def hue(rgb):
    return colorsys.rgb_to_hls(*rgb)[0] * 360


def test_layer_families_hold_the_originals_hues():
    for layer, hexes in ORIGINAL.items():
        ours = [hue(c) for c in layer_colours(layer, 16)]
        lo, hi = min(ours), max(ours)
        for code in hexes:
            rgb = [int(code[i:i + 2], 16) / 255 for i in (1, 3, 5)]
            h = hue(rgb)
            h = h - 360 if h > 300 and lo < 0 else h
            assert lo - 8 <= h <= hi + 8 or (layer == 1 and (h <= hi + 8 or h >= 350)), (layer, code)


def lab(rgb):
    """sRGB in 0..1 -> CIELAB (D65)."""
    rgb = np.asarray(rgb, float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def test_sixteen_neurons_of_a_layer_are_told_apart_and_layers_differ():
    for layer in range(8):
        colours = lab(layer_colours(layer, 16))
        delta_e = np.linalg.norm(colours[:, None] - colours[None], axis=2)
        assert delta_e[~np.eye(16, dtype=bool)].min() >= 5.0, layer  # clearly visible side by side
    angles = [np.angle(np.mean(np.exp(1j * np.radians([hue(c) for c in layer_colours(layer, 16)]))), deg=True) % 360
              for layer in range(3)]
    assert 180 < angles[0] < 240 and (angles[1] < 30 or angles[1] > 340) and 60 < angles[2] < 120


def test_one_palette_for_every_layer_shape():
    colours = neuron_colours([2, 16, 8, 64, 1])
    assert [len(c) for c in colours] == [16, 8, 64]
