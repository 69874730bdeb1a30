"""The training step without autograd: a hand-written forward/backward and a fused Adam update
over one flat parameter buffer, for one or several seeds at once.

Why: a step of this tiny MLP is all per-op overhead, so the step is a fixed list of about twenty
out= kernels on preallocated buffers (no allocation, no autograd graph, no .item()), with the
minibatch loss read once per block. Seeds are a batch dimension (bmm), so four networks cost
little more than one. On CUDA the same step list is captured once into a CUDA graph and replayed.
The parameters' layout is in layout.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from threading import Event, Lock
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ginn_gl.core.targets import target_points
from ginn_gl.train.activations import torch_activation
from ginn_gl.train.layout import ParameterLayout, Workspace
from ginn_gl.train.model import initial_parameters

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
CHUNK_ROWS = 8192  # on a CPU, whole-image passes go in chunks this size: their activations stay in cache
CUDA_CHUNK_ROWS = 1 << 20  # a GPU wants few, large kernels; this only bounds the buffers
# Held by whatever else issues CUDA work in this process (the geometry thread) while a graph is
# captured: another thread's CUDA calls during capture invalidate it.
CUDA_CAPTURE_LOCK = Lock()
GRAPH_SIZES = (64, 8, 1)  # CUDA graphs of this many cursor steps make up a block of any length


@dataclass
class Chunk:
    """A slice of the pixel table evaluated in one pass, with its buffers."""

    inputs: torch.Tensor  # [seeds, m, 3]: x, y, 1 (the same pixels for every seed)
    inputs_t: torch.Tensor  # [seeds, 3, m]
    targets: torch.Tensor  # [seeds, 1, m]
    scaled: torch.Tensor  # [seeds, 1, m]: -target / rows
    logits: torch.Tensor  # [seeds, 1, m]
    ws: Workspace


@dataclass
class StepViews:
    """Where one step reads its data and writes its results: a block slot, or the cursor's buffers."""

    inputs: torch.Tensor  # [seeds, rows, 3] (minibatch only; else empty)
    inputs_t: torch.Tensor  # [seeds, 3, rows] (minibatch only)
    scaled: torch.Tensor  # [seeds, 1, rows]: -target / rows (minibatch only)
    logits: torch.Tensor  # [seeds, 1, rows] (minibatch only)
    loss: torch.Tensor  # [seeds]: summed over pixels (full batch only; else empty)
    lr: torch.Tensor  # 0-dim
    stepno: torch.Tensor  # 0-dim: the Adam step number, 1-based


@dataclass
class EngineSpec:
    sizes: list[int]
    activation: str
    seeds: list[int]
    batch_size: int  # 0 = full batch
    block: int = 256  # steps per block: losses are read and stop/pause honoured in between
    head: str = "sigmoid"  # or softmax2: the original's two logits, trained as their difference


class StepEngine:
    def __init__(self, spec: EngineSpec, target: np.ndarray, device: torch.device | str = "cpu",
                 use_graphs: bool | None = None):
        if len(spec.sizes) < 3 or spec.sizes[-1] != 1:
            raise ValueError(f"the step engine needs hidden layers and one output, not layers {spec.sizes}")
        self.device = torch.device(device)
        self.sizes = list(spec.sizes)
        self.unit = torch_activation(spec.activation)
        self.seeds = len(spec.seeds)
        self.n_pixels = target.size
        self.target_shape = target.shape
        self.full_batch = spec.batch_size == 0
        self.rows = self.n_pixels if self.full_batch else spec.batch_size
        self.inv_rows = 1.0 / self.rows
        self.block = spec.block
        self.table = self._pixel_table(target)
        self.nothing = torch.empty(0, device=self.device)  # a step view's unused fields

        softmax2 = spec.head == "softmax2"
        layout = self.layout = ParameterLayout(self.sizes, self.seeds, self.device, 2.0 if softmax2 else 1.0)
        # The step's hot path reads these on every kernel call: plain attributes, not lookups.
        self.params, self.grads = layout.params, layout.grads
        self.weights, self.weights_t = layout.weights, layout.weights_t
        self.weights_core, self.weight_grads = layout.weights_core, layout.weight_grads
        # Initial parameters and minibatch draws come from one CPU generator per seed, so a
        # seed gives the same run on any device and inside any group of seeds.
        self.generators = [torch.Generator().manual_seed(int(s)) for s in spec.seeds]
        layout.set(np.stack([initial_parameters(self.sizes, g, spec.head) for g in self.generators]))

        # cuBLAS runs a batched [16 x 40,000] x [40,000 x 17] product on a handful of blocks: a
        # four-seed full-batch step took 3.7 ms against one seed's 0.15 ms on an H100 (0.42 ms so).
        self.per_seed_weight_grads = self.device.type == "cuda" and self.full_batch and self.seeds > 1
        self.chunks = self._make_chunks()  # whole-image passes: snapshots' loss, full-batch steps
        if self.full_batch:
            self._full_batch_buffers()
        else:
            self._minibatch_buffers()
        self._block_buffers()
        self.use_graphs = (self.device.type == "cuda") if use_graphs is None else use_graphs
        self._graph: torch.cuda.CUDAGraph | None = None
        self._last_p: torch.Tensor | None = None  # [seeds, pixels]: the prediction at the last domain pass
        self._cursor_graphs: dict[int, torch.cuda.CUDAGraph] = {}

    def _pixel_table(self, target: np.ndarray) -> torch.Tensor:
        """One row per pixel: x, y, 1 (the bias input), target t, and -t/rows, which turns the
        logit gradient (sigmoid(z) - t) / rows into one fused add."""
        table = np.empty((self.n_pixels, 5), dtype=np.float32)
        table[:, :2] = target_points(target.shape)
        table[:, 2] = 1.0
        table[:, 3] = target.reshape(-1)
        table[:, 4] = -table[:, 3] / self.rows
        return torch.from_numpy(table).to(self.device)

    def set_target(self, target: np.ndarray) -> None:
        """A new version of the target (of the same size), in force from the next block prepared and the
        next domain pass. Written into the pixel table in place: the views and graphs that read it stay valid."""
        if target.shape != self.target_shape:
            raise ValueError(f"a target of {target.shape} for an engine of {self.target_shape}")
        values = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32).reshape(-1)).to(self.device)
        self.table[:, 3].copy_(values)
        torch.div(self.table[:, 3], -float(self.rows), out=self.table[:, 4])  # as _pixel_table divides

    def _full_batch_buffers(self) -> None:
        """Per-chunk losses and weight gradients, summed after the chunks' passes."""
        opts: dict[str, Any] = dict(device=self.device, dtype=torch.float32)
        self.ws = Workspace(self.sizes, self.seeds, 0, self.device)  # unused: full-batch steps go chunk by chunk
        self.chunk_loss = torch.zeros(len(self.chunks), self.seeds, **opts)
        self.partial_stacks = [torch.zeros(len(self.chunks), *g.shape, **opts) for g in self.weight_grads]
        self.partial_grads = [[stack[c] for stack in self.partial_stacks] for c in range(len(self.chunks))]
        self.loss_buf = torch.zeros(self.block, self.seeds, **opts)  # summed over pixels

    def _minibatch_buffers(self) -> None:
        """A block's minibatch indices and gathered rows, its logits, and one step's activations."""
        opts: dict[str, Any] = dict(device=self.device, dtype=torch.float32)
        block, seeds, rows = self.block, self.seeds, self.rows
        self.ws = Workspace(self.sizes, seeds, rows, self.device)
        self.index_buf = torch.zeros(block, seeds * rows, dtype=torch.int64, device=self.device)
        self.batch_buf = torch.zeros(block, seeds, rows, 5, **opts)
        self.logit_buf = torch.zeros(block, seeds, 1, rows, **opts)
        self.host_index = torch.empty(block, seeds, rows, dtype=torch.int64, pin_memory=self.device.type == "cuda")

    def _block_buffers(self) -> None:
        """Step k of a block reads slot k; a block shorter than `block` (the steps up to a snapshot)
        runs as cursor steps, which copy slot `cursor` into fixed buffers, so one captured CUDA graph
        serves any slot."""
        opts: dict[str, Any] = dict(device=self.device, dtype=torch.float32)
        self.sched_buf = torch.zeros(self.block, 2, **opts)  # learning rate, Adam step number
        self.host_sched = torch.empty(self.block, 2, dtype=torch.float32, pin_memory=self.device.type == "cuda")
        self.slots = [self._slot_views(k) for k in range(self.block)]
        self.cursor = torch.zeros(1, dtype=torch.int64, device=self.device)
        self.cursor_sched = torch.zeros(1, 2, **opts)
        if self.full_batch:
            self.cursor_loss = torch.zeros(1, self.seeds, **opts)
            nothing = self.nothing
            self.cursor_views = StepViews(nothing, nothing, nothing, nothing, self.cursor_loss[0],
                                          self.cursor_sched[0, 0], self.cursor_sched[0, 1])
        else:
            self.cursor_batch = torch.zeros(1, self.seeds, self.rows, 5, **opts)
            self.cursor_logits = torch.zeros(1, self.seeds, 1, self.rows, **opts)
            self.cursor_views = self._batch_views(self.cursor_batch[0], self.cursor_logits[0], self.cursor_sched[0])

    # ---- parameters -------------------------------------------------------------------------

    def set_parameters(self, flat: np.ndarray) -> None:
        """Run-layout parameters [seeds, P] (Adam state is kept)."""
        self.layout.set(flat)

    def parameters(self) -> np.ndarray:
        """Run-layout float32 [seeds, P] copy of the current parameters."""
        return self.layout.get()

    def gradients(self) -> np.ndarray:
        """Run-layout gradients of the last step, [seeds, P] (for tests)."""
        return self.layout.gradients()

    def slot_gradients(self, slot: int = 0) -> np.ndarray:
        """The forward and backward pass of prepared step `slot`, without its update: run-layout
        gradients [seeds, P] (for tests and tools)."""
        self._gradient_step(self.slots[slot])
        return self.gradients()

    def run_cursor_steps(self, count: int) -> None:
        """The prepared block's first `count` steps through the cursor path, which CUDA graphs replay
        for blocks shorter than a full one (run here without graphs, to test it against slot steps)."""
        self.cursor.zero_()
        self._cursor_steps(count)

    @property
    def captured_graphs(self) -> tuple[bool, list[int]]:
        """Whether a full block's CUDA graph is captured, and the sizes of the cursor graphs captured."""
        return self._graph is not None, sorted(self._cursor_graphs)

    # ---- the step -----------------------------------------------------------------------------

    def _forward(self, ws: Workspace, inputs: torch.Tensor, logits: torch.Tensor) -> None:
        """Hidden layers as [rows x in] x [in x out]; the one-output last layer as
        [1 x in] x [in x rows] into a row of logits, a quarter of the per-seed cost of [rows x 1]."""
        prev = inputs
        last = len(self.weights) - 1
        for layer in range(last):
            torch.bmm(prev, self.weights_t[layer], out=ws.pre[layer])
            self.unit.forward_out(ws.pre[layer], ws.act[layer])
            prev = ws.out[layer]
        torch.bmm(self.weights[last], ws.out_t[last - 1], out=logits)

    def _make_chunks(self) -> list[Chunk]:
        limit = CHUNK_ROWS if self.device.type == "cpu" else CUDA_CHUNK_ROWS
        count = -(-self.n_pixels // limit)
        size = -(-self.n_pixels // count)  # balanced: at most two distinct sizes
        spaces: dict[int, Workspace] = {}
        chunks = []
        for a in range(0, self.n_pixels, size):
            rows = self.table[a:a + size]
            m = len(rows)
            if m not in spaces:
                spaces[m] = Workspace(self.sizes, self.seeds, m, self.device)
            inputs = rows[:, :3].expand(self.seeds, m, 3)
            chunks.append(Chunk(inputs, inputs.transpose(1, 2), rows[:, 3].expand(self.seeds, 1, m),
                                rows[:, 4].expand(self.seeds, 1, m),
                                torch.empty(self.seeds, 1, m, device=self.device), spaces[m]))
        return chunks

    def _backward(self, ws: Workspace, inputs_t: torch.Tensor, logits: torch.Tensor,
                  neg_targets_scaled: torch.Tensor, weight_grads: list[torch.Tensor]) -> None:
        # d(mean BCE)/d logit = (sigmoid(z) - t) / rows = sigmoid(z) / rows + (-t / rows).
        torch.sigmoid(logits, out=ws.dlogit)
        torch.add(neg_targets_scaled, ws.dlogit, alpha=self.inv_rows, out=ws.dlogit)
        grad, grad_t = ws.dlogit_t, ws.dlogit  # [seeds, rows, outputs] and its transpose
        last = len(self.weights) - 1
        for layer in range(last, -1, -1):
            # Gradients are stored like the weights: transposed, except the last layer's.
            if layer == last:
                left, right = grad_t, ws.out[layer - 1]
            else:
                left, right = (inputs_t if layer == 0 else ws.out_t[layer - 1]), grad
            if self.per_seed_weight_grads:
                for s in range(self.seeds):
                    torch.mm(left[s], right[s], out=weight_grads[layer][s])
            else:
                torch.bmm(left, right, out=weight_grads[layer])
            if layer == 0:
                break
            dpre = ws.dpre[layer - 1]
            if layer == last:  # one output: an outer product, which an elementwise multiply does best
                torch.mul(grad, self.weights_core[layer], out=dpre)
            else:
                torch.bmm(grad, self.weights_core[layer], out=dpre)
            self.unit.backward_in_place(dpre, ws.pre[layer - 1])
            grad, grad_t = dpre, ws.dpre_t[layer - 1]

    def _slot_views(self, slot: int) -> StepViews:
        if self.full_batch:
            sched = self.sched_buf[slot]
            nothing = self.nothing
            return StepViews(nothing, nothing, nothing, nothing, self.loss_buf[slot], sched[0], sched[1])
        return self._batch_views(self.batch_buf[slot], self.logit_buf[slot], self.sched_buf[slot])

    def _batch_views(self, batch: torch.Tensor, logits: torch.Tensor, sched: torch.Tensor) -> StepViews:
        """A minibatch step's views of its rows [seeds, rows, 5], logits and (lr, step) pair."""
        inputs = batch[..., :3]
        return StepViews(inputs, inputs.transpose(1, 2), batch[..., 4].unsqueeze(1), logits, self.nothing,
                         sched[0], sched[1])

    def _adam(self, views: StepViews) -> None:
        layout = self.layout
        torch._fused_adam_([layout.params], [layout.grads], [layout.exp_avg], [layout.exp_avg_sq], [],
                           [views.stepno], lr=views.lr, beta1=BETA1, beta2=BETA2, weight_decay=0.0,
                           eps=EPS, amsgrad=False, maximize=False)

    def _gradient_step(self, views: StepViews) -> None:
        """Forward and backward of one step: fills self.grads (and the step's loss or logits)."""
        if not self.full_batch:
            self._forward(self.ws, views.inputs, views.logits)
            self._backward(self.ws, views.inputs_t, views.logits, views.scaled, self.weight_grads)
            return
        for index, chunk in enumerate(self.chunks):
            self._forward(chunk.ws, chunk.inputs, chunk.logits)
            self._backward(chunk.ws, chunk.inputs_t, chunk.logits, chunk.scaled,
                           self.partial_grads[index])
            loss = F.binary_cross_entropy_with_logits(chunk.logits, chunk.targets, reduction="none")
            torch.sum(loss, dim=(1, 2), out=self.chunk_loss[index])
        # Summing per-chunk gradients afterwards beats accumulating matmuls (baddbmm, beta=1).
        for layer, partial in enumerate(self.partial_stacks):
            torch.sum(partial, dim=0, out=self.weight_grads[layer])
        torch.sum(self.chunk_loss, dim=0, out=views.loss)

    def _step(self, views: StepViews) -> None:
        self._gradient_step(views)
        self._adam(views)
        self.layout.refresh_head()

    def _cursor_step(self) -> None:
        """One step of slot `cursor`, through fixed buffers; advances the cursor."""
        cursor = self.cursor
        torch.index_select(self.sched_buf, 0, cursor, out=self.cursor_sched)
        if not self.full_batch:
            torch.index_select(self.batch_buf, 0, cursor, out=self.cursor_batch)
        self._step(self.cursor_views)
        if self.full_batch:
            self.loss_buf.index_copy_(0, cursor, self.cursor_loss)
        else:
            self.logit_buf.index_copy_(0, cursor, self.cursor_logits)
        cursor.add_(1)

    # ---- blocks -----------------------------------------------------------------------------

    def prepare_block(self, first_step: int, count: int, rates: np.ndarray) -> None:
        """Draw the minibatches and fill learning rates and step numbers for `count` steps.

        `first_step` is the number of optimiser steps already done; `rates` holds each step's rate.
        """
        if count > self.block:
            raise ValueError(f"a block holds at most {self.block} steps, not {count}")
        if not self.full_batch:
            for s, generator in enumerate(self.generators):
                torch.randint(0, self.n_pixels, (count, self.rows), generator=generator,
                              out=self.host_index[:count, s])
            self.index_buf[:count].copy_(self.host_index[:count].view(count, -1), non_blocking=True)
            # One gather for the whole block: per step it would cost a dispatch each time.
            torch.index_select(self.table, 0, self.index_buf[:count].view(-1),
                               out=self.batch_buf[:count].view(-1, 5))
        self.host_sched[:count, 0] = torch.from_numpy(np.asarray(rates, dtype=np.float32))
        self.host_sched[:count, 1] = torch.arange(first_step + 1, first_step + count + 1)
        self.sched_buf[:count].copy_(self.host_sched[:count], non_blocking=True)

    def run_block(self, count: int, stop: Event | None = None) -> int:
        """Run the `count` prepared steps; returns how many ran (fewer if `stop` was set)."""
        if not self.use_graphs:
            for slot in range(count):
                if stop is not None and stop.is_set():
                    return slot
                self._step(self.slots[slot])
            return count
        if count == self.block:
            if self._graph is None:
                self._graph = self._capture(self._block_steps)
            self._graph.replay()
            return count
        # A shorter block: replays of graphs of 64, 8 and 1 cursor steps.
        self.cursor.zero_()
        done = 0
        for size in GRAPH_SIZES:
            while count - done >= size:
                if stop is not None and stop.is_set():
                    return done
                if size not in self._cursor_graphs:
                    self._cursor_graphs[size] = self._capture(  # leaves the cursor where it was
                        functools.partial(self._cursor_steps, size))
                self._cursor_graphs[size].replay()
                done += size
        return done

    def block_losses(self, count: int) -> np.ndarray:
        """Minibatch loss of each of the block's first `count` steps, float32 [count, seeds]."""
        if count == 0:
            return np.zeros((0, self.seeds), dtype=np.float32)
        if self.full_batch:
            return (self.loss_buf[:count] / self.n_pixels).cpu().numpy()
        loss = F.binary_cross_entropy_with_logits(self.logit_buf[:count],
                                                  self.batch_buf[:count, ..., 3].unsqueeze(2), reduction="none")
        return loss.mean(dim=(2, 3)).cpu().numpy()

    def _block_steps(self) -> None:
        for views in self.slots:
            self._step(views)

    def _cursor_steps(self, count: int) -> None:
        for _ in range(count):
            self._cursor_step()

    def _capture(self, steps: Callable[[], None]) -> torch.cuda.CUDAGraph:
        """Record `steps()` as a CUDA graph: every buffer it touches is static.

        Capture records without running; the warm-up before it does run, so the state it
        changes is put back afterwards.
        """
        state = (self.params, self.layout.exp_avg, self.layout.exp_avg_sq, self.cursor,
                 self.loss_buf if self.full_batch else self.logit_buf)
        saved = [t.clone() for t in state]
        self.cursor.zero_()  # the warm-up's cursor steps read slots 0 and 1, wherever a block left it
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm-up: lets cuBLAS and the allocator settle before capture
                self._step(self.slots[0])
                self._cursor_step()
        torch.cuda.current_stream(self.device).wait_stream(stream)
        for tensor, value in zip(state, saved):
            tensor.copy_(value)
        self.layout.refresh_head()
        graph = torch.cuda.CUDAGraph()
        with CUDA_CAPTURE_LOCK, torch.cuda.graph(graph, capture_error_mode="thread_local"):
            steps()
        return graph

    # ---- evaluation -----------------------------------------------------------------------------

    def domain_loss(self) -> np.ndarray:
        """Mean BCE over every pixel of the target, per seed: float64 [seeds]."""
        return self.domain_pass()[0]

    def domain_pass(self) -> tuple[np.ndarray, np.ndarray]:
        """One pass over every pixel of the target, per seed: the mean BCE (float64 [seeds]) and how far the
        prediction moved since the last pass, the mean |p - p before| in percent (float64 [seeds]; 0 the
        first time). The probabilities stay on the device."""
        total = torch.zeros(self.seeds, dtype=torch.float64, device=self.device)
        moved = torch.zeros(self.seeds, dtype=torch.float64, device=self.device)
        first = self._last_p is None
        if self._last_p is None:
            self._last_p = torch.zeros(self.seeds, self.n_pixels, device=self.device)
        start = 0
        for chunk in self.chunks:
            self._forward(chunk.ws, chunk.inputs, chunk.logits)
            loss = F.binary_cross_entropy_with_logits(chunk.logits, chunk.targets, reduction="none")
            total += loss.sum(dim=(1, 2), dtype=torch.float64)
            p = torch.sigmoid(chunk.logits[:, 0])
            before = self._last_p[:, start:start + p.shape[1]]
            moved += (p - before).abs().sum(dim=1, dtype=torch.float64)
            before.copy_(p)
            start += p.shape[1]
        change = np.zeros(self.seeds) if first else (100.0 * moved / self.n_pixels).cpu().numpy()
        return (total / self.n_pixels).cpu().numpy(), change

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Probabilities [seeds, M] at points [M, 2] (for tests and tools)."""
        m = len(points)
        inputs = torch.ones(self.seeds, m, 3, device=self.device)
        inputs[:, :, :2] = torch.as_tensor(np.asarray(points, dtype=np.float32), device=self.device)
        logits = torch.empty(self.seeds, 1, m, device=self.device)
        self._forward(Workspace(self.sizes, self.seeds, m, self.device), inputs, logits)
        return torch.sigmoid(logits[:, 0]).cpu().numpy()
