"""The geometry of a ReLU network on its target's pixel centres, per snapshot: how many linear regions
(distinct activation patterns) the picture holds, how many neuron boundaries pass near each pixel
(near the target's edges and elsewhere), and which neurons are dead, always on, or switching.

Vectorised torch on the trainer's device. Every hidden neuron's sign at every pixel is packed into
a few 64-bit words per pixel (52 neurons a word, so the packing is exact in float64), so a pattern
is a short row of integers: regions are its distinct rows; a boundary passes within r of a pixel
where its word differs from a neighbour's within r (XOR, OR), counted by a population count.
"""

from __future__ import annotations

import numpy as np
import torch

from ginn_gl.core.lifecycle import status_from_counts
from ginn_gl.core.network import split_parameters
from ginn_gl.core.selection import hidden_count
from ginn_gl.core.targets import target_points
from ginn_gl.train.activations import torch_activation

BITS = 52  # neurons a word holds: a float64 sum of distinct powers of two below 2^52 is exact
RADIUS = 2  # pixels: "near" for the boundary density
CHUNK = 8192  # pixels a pass (activations stay in cache on a CPU)


def disc_offsets(radius: int = RADIUS) -> list[tuple[int, int]]:
    """(dy, dx) of the pixels within `radius` of a pixel (Euclidean), itself excluded."""
    return [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)
            if 0 < dy * dy + dx * dx <= radius * radius]


def _shift_pairs(height: int, width: int, dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices (here, there) pairing each pixel with its neighbour at (dy, dx), where both exist."""
    here = (slice(max(0, -dy), height - max(0, dy)), slice(max(0, -dx), width - max(0, dx)))
    there = (slice(max(0, dy), height + min(0, dy)), slice(max(0, dx), width + min(0, dx)))
    return here, there


def near_changes(words: torch.Tensor) -> torch.Tensor:
    """[..., H, W, K] words -> the same shape, bit set where that neuron's sign differs between the
    pixel and some pixel within RADIUS of it."""
    height, width = words.shape[-3], words.shape[-2]
    changed = torch.zeros_like(words)
    for dy, dx in disc_offsets():
        here, there = _shift_pairs(height, width, dy, dx)
        changed[..., here[0], here[1], :] |= words[..., here[0], here[1], :] ^ words[..., there[0], there[1], :]
    return changed


def popcount(x: torch.Tensor) -> torch.Tensor:
    """Set bits of each int64 below 2^62 (SWAR, shifts and adds only: no overflow)."""
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    x = x + (x >> 8)
    x = x + (x >> 16)
    x = x + (x >> 32)
    return x & 0x7F


class GeometryProbe:
    """Computes (regions, density near the edges and elsewhere, neuron status) of snapshots."""

    def __init__(self, target: np.ndarray, sizes: list[int], activation: str, device: torch.device | str = "cpu"):
        self.sizes = list(sizes)
        self.unit = torch_activation(activation)
        self.device = torch.device(device)
        self.height, self.width = target.shape
        points = target_points(target.shape).astype(np.float32)
        self.points = torch.from_numpy(points).to(self.device)
        self.n_hidden = hidden_count(sizes)
        self.n_words = -(-self.n_hidden // BITS)
        # Each neuron's place: word index and its power of two within the word.
        index = np.arange(self.n_hidden)
        powers = np.zeros((self.n_hidden, self.n_words), dtype=np.float64)
        powers[index, index // BITS] = 2.0 ** (index % BITS)
        self.powers = torch.from_numpy(powers).to(self.device)
        edge = torch.from_numpy(target.astype(np.int64)).to(self.device)[..., None]
        self.near_edge = near_changes(edge)[..., 0] != 0  # pixels within RADIUS of the target's edges
        self.edge_pixels = max(int(self.near_edge.sum()), 1)
        self.other_pixels = max(self.height * self.width - int(self.near_edge.sum()), 1)

    def patterns(self, weights: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Each pixel centre's activation pattern packed into words, int64 [seeds, H*W, K], and each
        neuron's count of active pixels, int64 [seeds, N]. Packed chunk by chunk, so no [pixels x
        neurons] array is ever whole (four seeds' would not fit in a CPU's cache)."""
        weights = np.atleast_2d(np.asarray(weights, dtype=np.float32))
        seeds, pixels = len(weights), len(self.points)
        words = torch.zeros(seeds, pixels, self.n_words, dtype=torch.float64, device=self.device)
        active = torch.zeros(seeds, self.n_hidden, dtype=torch.float64, device=self.device)
        for s, flat in enumerate(weights):
            layers = [(torch.from_numpy(np.ascontiguousarray(w)).to(self.device),
                       torch.from_numpy(np.ascontiguousarray(b)).to(self.device))
                      for w, b in split_parameters(flat, self.sizes)[:-1]]
            for start in range(0, pixels, CHUNK):
                a = self.points[start:start + CHUNK]
                column = 0
                for w, b in layers:
                    z = torch.addmm(b, a, w.t())
                    on = (z > 0).to(torch.float64)
                    words[s, start:start + len(a)].addmm_(on, self.powers[column:column + len(b)])
                    active[s, column:column + len(b)] += on.sum(dim=0)
                    column += len(b)
                    a = self.unit.function(z)
        return words.to(torch.int64), active.to(torch.int64)

    def measure(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per seed: regions int32 [seeds], density float32 [seeds, 2] (near the target's edges, elsewhere),
        status int8 [seeds, N] (NeuronStatus)."""
        words, active_pixels = self.patterns(weights)
        seeds, pixels = words.shape[0], words.shape[1]
        regions = np.array([torch.unique(words[s], dim=0).shape[0] if self.n_words > 1 else
                            torch.unique(words[s, :, 0]).numel() for s in range(seeds)], dtype=np.int32)
        grid = words.view(seeds, self.height, self.width, self.n_words)
        near = popcount(near_changes(grid)).sum(dim=-1).to(torch.float64)  # [seeds, H, W] boundaries near
        edge = (near * self.near_edge).sum(dim=(1, 2)) / self.edge_pixels
        other = (near * ~self.near_edge).sum(dim=(1, 2)) / self.other_pixels
        density = torch.stack([edge, other], dim=1).cpu().numpy().astype(np.float32)
        return regions, density, status_from_counts(active_pixels.cpu().numpy(), pixels)
