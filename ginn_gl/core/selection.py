"""Which hidden neurons are drawn: a flat boolean mask over all hidden neurons, layer by layer."""

from __future__ import annotations

import numpy as np

from ginn_gl.core.errors import UserError


def hidden_widths(sizes: list[int]) -> list[int]:
    return list(sizes[1:-1])


def layer_offsets(sizes: list[int]) -> list[int]:
    """Index of each hidden layer's first neuron in the flat mask."""
    return [int(x) for x in np.concatenate([[0], np.cumsum(hidden_widths(sizes))[:-1]])]


def hidden_count(sizes: list[int]) -> int:
    return int(sum(hidden_widths(sizes)))


def neuron_index(sizes: list[int], layer: int, neuron: int) -> int:
    """Flat index of neuron `neuron` (0-based) of hidden layer `layer` (1-based, as users count)."""
    return layer_offsets(sizes)[layer - 1] + neuron


def locate(sizes: list[int], index: int) -> tuple[int, int]:
    """Flat index -> (layer 1-based, neuron 0-based)."""
    for layer, (offset, width) in enumerate(zip(layer_offsets(sizes), hidden_widths(sizes)), start=1):
        if index < offset + width:
            return layer, index - offset
    raise IndexError(index)


def parse_neuron_spec(spec: str, sizes: list[int]) -> np.ndarray:
    """`all`, `none`, or a comma list of `L:I` and `L:*` (layer 1-based, neuron 0-based)."""
    widths = hidden_widths(sizes)
    mask = np.zeros(hidden_count(sizes), dtype=bool)
    text = spec.strip().lower()
    if text == "all":
        mask[:] = True
        return mask
    if text == "none":
        return mask
    shape = " -> ".join(map(str, widths))
    for item in text.split(","):
        item = item.strip()
        layer_text, sep, neuron_text = item.partition(":")
        try:
            layer = int(layer_text)
            neurons = range(widths[layer - 1]) if neuron_text == "*" else [int(neuron_text)]
            if not sep or not 1 <= layer <= len(widths):
                raise IndexError
        except ValueError:
            raise UserError(f"--neurons {spec!r}: {item!r} is not L:I or L:*; use e.g. "
                            "--neurons 1:0,1:3,2:*, or all, or none") from None
        except IndexError:
            raise UserError(f"--neurons {spec!r}: layer {layer_text} does not exist; this "
                            f"network's hidden layers are 1..{len(widths)} ({shape})") from None
        for neuron in neurons:
            if not 0 <= neuron < widths[layer - 1]:
                raise UserError(f"--neurons {spec!r}: layer {layer} has neurons 0.."
                                f"{widths[layer - 1] - 1}, not {neuron}")
            mask[neuron_index(sizes, layer, neuron)] = True
    return mask
