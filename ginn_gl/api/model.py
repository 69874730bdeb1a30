"""A user's own torch model, read as ginn-gl's network: which models fit, their weights in the run
file's layout (read without touching the model or its autograd graph), and the full-image loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ginn_gl.core.config import MAX_HIDDEN_LAYERS, MAX_WIDTH
from ginn_gl.core.network import INPUTS, LEAKY_SLOPE, activation_named
from ginn_gl.core.targets import target_points

SUPPORTED = (f"a torch.nn.Sequential of nn.Linear layers with nn.ReLU or nn.LeakyReLU({LEAKY_SLOPE:g}) between them "
             f"(one kind throughout), {INPUTS} inputs and 1 output logit or 2 softmax logits, at most "
             f"{MAX_HIDDEN_LAYERS} hidden layers of at most {MAX_WIDTH} neurons")
CHUNK = 8192  # pixels per pass of the full-image loss, as the engine's: their activations stay in cache


def unsupported(name: str, layer: nn.Module, why: str) -> ValueError:
    return ValueError(f"layer {name} ({layer!r}) {why}; ginn_gl records {SUPPORTED}")


class ModelReader:
    """The Linear layers of a supported model, and its activation and head, checked once."""

    def __init__(self, model: object):
        model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper: the module it compiled
        if not isinstance(model, nn.Sequential):
            raise ValueError(f"the model is a {type(model).__module__}.{type(model).__qualname__}, not a "
                             f"torch.nn.Sequential; ginn_gl records {SUPPORTED}")
        self.model = model
        self.linears: list[nn.Linear] = []
        kinds: set[str] = set()
        want_linear = True  # a Linear layer comes first and after each activation
        for name, layer in model.named_children():
            if type(layer) is nn.Linear:
                if not want_linear:
                    raise unsupported(name, layer, "follows a Linear layer with no activation between them")
                self.linears.append(layer)
                want_linear = False
            elif type(layer) in (nn.ReLU, nn.LeakyReLU):
                if want_linear:
                    raise unsupported(name, layer, "does not follow a Linear layer")
                if isinstance(layer, nn.LeakyReLU) and layer.negative_slope != LEAKY_SLOPE:
                    raise unsupported(name, layer, f"has slope {layer.negative_slope:g}, not {LEAKY_SLOPE:g}")
                kinds.add("leaky_relu" if isinstance(layer, nn.LeakyReLU) else "relu")
                want_linear = True
            else:
                raise unsupported(name, layer, "is not supported")
        names = [name for name, _ in model.named_children()]
        if not self.linears or want_linear:
            raise ValueError(f"the model {'is empty' if not names else 'does not end with a Linear layer'}; "
                             f"ginn_gl records {SUPPORTED}")
        if len(kinds) > 1:
            raise ValueError(f"the model mixes ReLU and LeakyReLU; ginn_gl records {SUPPORTED}")
        first, last = self.linears[0], self.linears[-1]
        first_name, last_name = names[0], names[-1]
        if len(self.linears) < 2:
            raise unsupported(first_name, first, "is the only layer: a network needs at least one hidden layer")
        if first.in_features != INPUTS:
            raise unsupported(first_name, first, f"takes {first.in_features} inputs, not {INPUTS} (x, y)")
        if last.out_features not in (1, 2):
            raise unsupported(last_name, last, f"gives {last.out_features} outputs, not 1 logit or 2 softmax logits")
        hidden = [linear.out_features for linear in self.linears[:-1]]
        if len(hidden) > MAX_HIDDEN_LAYERS or max(hidden) > MAX_WIDTH:
            raise ValueError(f"the model's hidden layers {hidden} are larger than a run file holds; ginn_gl records "
                             f"{SUPPORTED}")
        self.activation = kinds.pop()
        self.head = "softmax2" if last.out_features == 2 else "sigmoid"
        self.sizes = [INPUTS, *hidden, 1]

    @property
    def device(self) -> torch.device:
        return self.linears[0].weight.device

    def flat(self) -> torch.Tensor:
        """float32 [P] on the model's device: per layer W (out, in) row-major then b (zeros without a
        bias); two softmax logits as one, z1 - z0. Read under no_grad from detached tensors: the model,
        its gradients and its autograd graph are untouched."""
        parts = []
        with torch.no_grad():
            for k, linear in enumerate(self.linears):
                weight = linear.weight.detach()
                bias = linear.bias.detach() if linear.bias is not None else \
                    torch.zeros(linear.out_features, dtype=weight.dtype, device=weight.device)
                if k == len(self.linears) - 1 and linear.out_features == 2:
                    weight, bias = weight[1:] - weight[:1], bias[1:] - bias[:1]
                parts += [weight.reshape(-1).to(torch.float32), bias.to(torch.float32)]
            return torch.cat(parts)


class ImageLoss:
    """The full-image loss of flat parameters: mean binary cross-entropy over every pixel centre of the
    target, float32 arithmetic summed in float64 (as the trainer's snapshots), on the parameters' device."""

    def __init__(self, pixels, sizes: list[int], activation: str):
        self.points = torch.from_numpy(target_points(pixels.shape)).to(torch.float32)
        self.targets = torch.as_tensor(pixels.reshape(-1), dtype=torch.float32)
        self.sizes, self.slope = sizes, activation_named(activation).negative_slope

    def __call__(self, flat: torch.Tensor) -> torch.Tensor:
        """A float64 scalar tensor on flat's device."""
        if self.points.device != flat.device:
            self.points, self.targets = self.points.to(flat.device), self.targets.to(flat.device)
        layers, offset = [], 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            weight = flat[offset:offset + n_out * n_in].view(n_out, n_in)
            layers.append((weight, flat[offset + n_out * n_in:offset + n_out * (n_in + 1)]))
            offset += n_out * (n_in + 1)
        total = torch.zeros((), dtype=torch.float64, device=flat.device)
        with torch.no_grad():
            for start in range(0, len(self.points), CHUNK):
                h = self.points[start:start + CHUNK]
                for weight, bias in layers[:-1]:
                    h = F.leaky_relu(F.linear(h, weight, bias), self.slope)
                logits = F.linear(h, *layers[-1])[:, 0]
                loss = F.binary_cross_entropy_with_logits(logits, self.targets[start:start + CHUNK], reduction="none")
                total += loss.sum(dtype=torch.float64)
        return total / len(self.points)
