"""Where the step engine keeps its numbers: the parameters of every seed in one flat buffer (so Adam
is one fused kernel), per-layer views into it, and activation buffers for a number of rows.

Internal layout: per layer a contiguous block; hidden layers as [seeds, in + 1, out], the output
layer as [seeds, out, in + 1] (the bias is the last input, so a layer's weight and bias gradients
come from one matmul against inputs carrying a column of ones). `perm` maps it to and from the run
file's layout (per layer W (out, in) row-major, then b).

The softmax2 head (the original GINN's two logits z0, z1 under a softmax) is one logit z1 - z0:
under Adam the two rows get mirror-image gradients and updates, so u = (w1 - w0) / 2 moves exactly
as w1 does. The flat buffer holds u, which Adam updates with the gradient of w1 (g h); the layer
used in the passes is the effective one, 2u, refreshed after each update.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ginn_gl.core.network import layer_slices, parameter_count


class ParameterLayout:
    """Parameters, gradients and Adam moments of `seeds` networks, flat, with per-layer views."""

    def __init__(self, sizes: list[int], seeds: int, device: torch.device, head_scale: float = 1.0):
        self.seeds = seeds
        self.head_scale = head_scale  # the effective output layer is head_scale x the stored one
        self.n_params = parameter_count(sizes)
        total = seeds * self.n_params
        opts: dict[str, Any] = dict(device=device, dtype=torch.float32)
        self.params = torch.zeros(total, **opts)
        self.grads = torch.zeros(total, **opts)
        self.exp_avg = torch.zeros(total, **opts)
        self.exp_avg_sq = torch.zeros(total, **opts)
        self.weights, self.weights_t, self.weights_core, self.weight_grads = [], [], [], []
        perm = np.empty((seeds, self.n_params), dtype=np.int64)
        offset = 0
        layers = layer_slices(sizes)
        for index, layer in enumerate(layers):
            n_out, n_in = layer.n_out, layer.n_in
            size = seeds * n_out * (n_in + 1)
            internal: np.ndarray = offset + np.arange(size)
            block = slice(offset, offset + size)
            if index < len(layers) - 1:
                # Hidden layers are stored transposed: MKL's products run faster when they read and
                # write rows of 16 outputs (first layer 2-4x; others 10% at 4 seeds).
                w_t = self.params[block].view(seeds, n_in + 1, n_out)
                w = w_t.transpose(1, 2)
                grad = self.grads[block].view(seeds, n_in + 1, n_out)
                internal = internal.reshape(seeds, n_in + 1, n_out).transpose(0, 2, 1)
            else:
                self.stored_head = self.params[block].view(seeds, n_out, n_in + 1)
                self.effective_head = torch.empty_like(self.stored_head) if head_scale != 1.0 else self.stored_head
                w = self.effective_head
                w_t = w.transpose(1, 2)
                grad = self.grads[block].view(seeds, n_out, n_in + 1)
                internal = internal.reshape(seeds, n_out, n_in + 1)
                self.head_slice = slice(layer.weight.start, layer.bias.stop)  # in the run layout
            self.weights.append(w)
            self.weights_t.append(w_t)
            self.weights_core.append(w[:, :, :-1])
            self.weight_grads.append(grad)
            perm[:, layer.weight] = internal[:, :, :-1].reshape(seeds, -1)
            perm[:, layer.bias] = internal[:, :, -1]
            offset += size
        self.perm = torch.from_numpy(perm).to(device)

    def set(self, flat: np.ndarray) -> None:
        """Run-layout parameters [seeds, P] (the effective output layer) -> the internal buffer
        (Adam state is kept)."""
        values = np.array(flat, dtype=np.float32).reshape(self.seeds, -1)
        values[:, self.head_slice] /= self.head_scale
        self.params[self.perm.reshape(-1)] = torch.from_numpy(values).to(self.params.device).reshape(-1)
        self.refresh_head()

    def refresh_head(self) -> None:
        """The effective output layer from the stored one (after each update)."""
        if self.head_scale != 1.0:
            torch.mul(self.stored_head, self.head_scale, out=self.effective_head)

    def get(self) -> np.ndarray:
        """Run-layout float32 [seeds, P] copy of the parameters, the effective output layer."""
        values = self.params[self.perm].cpu().numpy()
        values[:, self.head_slice] *= self.head_scale
        return values

    def gradients(self) -> np.ndarray:
        """Run-layout gradients of the last step, [seeds, P]."""
        return self.grads[self.perm].cpu().numpy()


class Workspace:
    """Activation and gradient buffers for `rows` samples per seed."""

    def __init__(self, sizes: list[int], seeds: int, rows: int, device: torch.device):
        hidden = sizes[1:-1]
        opts: dict[str, Any] = dict(device=device, dtype=torch.float32)
        self.rows = rows
        self.pre = [torch.empty(seeds, rows, n, **opts) for n in hidden]
        self.out = [torch.ones(seeds, rows, n + 1, **opts) for n in hidden]  # last column stays 1
        self.out_t = [h.transpose(1, 2) for h in self.out]
        self.act = [h[:, :, :-1] for h in self.out]
        self.dpre = [torch.empty(seeds, rows, n, **opts) for n in hidden]
        self.dpre_t = [d.transpose(1, 2) for d in self.dpre]
        # Logits and their gradient lie along a row, [seeds, 1, rows]: see StepEngine._forward.
        self.dlogit = torch.empty(seeds, 1, rows, **opts)
        self.dlogit_t = self.dlogit.transpose(1, 2)
