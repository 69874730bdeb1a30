"""The network view: the whole MLP evaluated per pixel in one fragment-shader pass.

Takes plain numpy arrays (a snapshot's flat parameters, the target) and the ViewSettings, and draws
into whatever framebuffer is bound: a window's or an offscreen one from an EGL context. Weights go
to the GPU as one upload per snapshot change; the neurons' colours and states are a tiny uniform
block, uploaded only when a toggle changes them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from ginn_gl.core.errors import UserError
from ginn_gl.core.network import activation_named, describe, evaluate, layer_slices, parameter_count
from ginn_gl.core.palette import neuron_colours
from ginn_gl.core.selection import hidden_count, layer_offsets
from ginn_gl.core.targets import extent, target_points
from ginn_gl.core.view import BACKGROUNDS, OUTPUT_HALO, OUTPUT_WIDTH, ViewSettings
from ginn_gl.render.context import ShaderError, load_program, software_renderer

SHADER_PATHS = ("auto", "fragment", "compute")
COMPUTE_GROUP = 8  # the compute stage's work groups are 8 x 8 pixels (a #define in network.glsl)
WEIGHTS_ROW = 1024  # texels per row of the weight texture
UNROLL_TILES = 64  # networks up to this many 4x4 weight tiles get fully unrolled shader code
# Texture units and uniform-block bindings, each named once.
WEIGHTS_UNIT, TARGET_UNIT, IMAGE_UNIT, BLIT_UNIT = 0, 2, 3, 4
WEIGHTS_BINDING, NEURONS_BINDING = 0, 1
COVER_VIEWPORT = np.array([-1.0, -1.0, 3.0, -1.0, -1.0, 3.0], dtype=np.float32)  # one triangle over it


@dataclass(frozen=True)
class WeightLayout:
    """Where each layer's weights and biases sit in the RGBA32F weight texture."""

    in4: list[int]  # input width in vec4s (each weight row is zero-padded to this)
    out: list[int]
    w_offset: list[int]  # first texel of the layer's weight rows
    b_offset: list[int]  # first texel of its biases, 4 per texel
    texels: int

    @property
    def tiles(self) -> int:
        return sum(i * -(-o // 4) for i, o in zip(self.in4, self.out))

    @classmethod
    def for_sizes(cls, sizes: list[int]) -> WeightLayout:
        in4, out, w_offset, b_offset = [], [], [], []
        texel = 0
        for layer in layer_slices(sizes):
            in4.append(-(-layer.n_in // 4))
            out.append(layer.n_out)
            w_offset.append(texel)
            texel += 4 * -(-layer.n_out // 4) * in4[-1]  # 4x4 tiles, a texel per tile row
            b_offset.append(texel)
            texel += -(-layer.n_out // 4)
        return cls(in4, out, w_offset, b_offset, texel)

    def pack(self, flat: np.ndarray, sizes: list[int]) -> np.ndarray:
        """Flat run-layout parameters -> float32 [texels, 4]: zero-padded 4x4 tiles, then biases."""
        packed = np.zeros((self.texels, 4), dtype=np.float32)
        for i, layer in enumerate(layer_slices(sizes)):
            out4, in4 = -(-layer.n_out // 4), self.in4[i]
            padded = np.zeros((out4 * 4, in4 * 4), dtype=np.float32)
            padded[:layer.n_out, :layer.n_in] = flat[layer.weight].reshape(layer.n_out, layer.n_in)
            tiles = padded.reshape(out4, 4, in4, 4).transpose(0, 2, 1, 3)  # [k4, j4, row, col]
            packed[self.w_offset[i]:self.b_offset[i]] = tiles.reshape(-1, 4)
            biases = np.zeros(out4 * 4, dtype=np.float32)
            biases[:layer.n_out] = flat[layer.bias]
            packed[self.b_offset[i]:self.b_offset[i] + out4] = biases.reshape(-1, 4)
        return packed


def shader_defines(sizes: list[int], activation: str, weights_ubo_texels: int | None) -> dict[str, object]:
    """network.glsl's #defines for a network; `weights_ubo_texels` when its weights go in a uniform
    block (None: the texture). One function for the desktop renderer and the web page."""
    lay = WeightLayout.for_sizes(sizes)
    defines: dict[str, object] = {
        "N_LAYERS": len(lay.out),
        "N_HIDDEN": hidden_count(sizes),
        "MAX_W4": max(-(-width // 4) for width in sizes),
        "LAYER_IN4_LIST": ", ".join(map(str, lay.in4)),
        "LAYER_OUT_LIST": ", ".join(map(str, lay.out)),
        "W_OFFSET_LIST": ", ".join(map(str, lay.w_offset)),
        "B_OFFSET_LIST": ", ".join(map(str, lay.b_offset)),
        # The output's first "neuron" comes after the hidden ones: it has no line of its own.
        "FIRST_NEURON_LIST": ", ".join(map(str, [*layer_offsets(sizes), hidden_count(sizes)])),
        "SLOPE": activation_named(activation).shader_slope,
        # The backgrounds by name, numbered as BACKGROUNDS orders them (u_view holds the number).
        **{f"VIEW_{name.upper()}": number for number, name in enumerate(BACKGROUNDS)},
        "WEIGHTS_ROW": WEIGHTS_ROW,
        "COMPUTE_GROUP": COMPUTE_GROUP,
    }
    if lay.tiles <= UNROLL_TILES:
        defines["UNROLL_LAYERS"] = 1
    if weights_ubo_texels is not None:
        defines["WEIGHTS_UBO"] = weights_ubo_texels
    return defines


class NetworkRenderer:
    """Draws one network architecture; `set_*` upload inputs, `draw` renders a frame.

    Weights live in a uniform block when they fit (cheaper to read than a texture, notably on
    llvmpipe), else in an RGBA32F texture; neuron colours and on/off states in a uniform block.
    """

    def __init__(self, ctx: moderngl.Context, sizes: list[int], activation: str, path: str = "auto"):
        self.ctx = ctx
        self.path = choose_shader_path(ctx, path)
        self.sizes = list(sizes)
        self.layout = WeightLayout.for_sizes(self.sizes)
        lay = self.layout
        self.n_hidden = hidden_count(self.sizes)
        self.use_ubo = lay.texels * 16 <= min(ctx.info["GL_MAX_UNIFORM_BLOCK_SIZE"], 1 << 16)
        self.defines = shader_defines(self.sizes, activation, lay.texels if self.use_ubo else None)
        try:
            self.program = load_program(ctx, "network.glsl", self.defines, compute=self.path == "compute")
        except ShaderError as exc:  # a driver's limits (registers, uniforms) for a large network
            reason = " ".join(str(exc).split())[:160]
            raise UserError(f"this OpenGL cannot build the shader for the {describe(self.sizes)} network "
                            f"({reason}); try a smaller network or a machine with a GPU driver") from None
        if self.path == "compute":
            self.blit = Blit(ctx)
        self.image: moderngl.Texture | None = None  # the compute path's RGBA32F view
        rows = -(-lay.texels // WEIGHTS_ROW)
        self._weights_host = np.zeros((lay.texels if self.use_ubo else rows * WEIGHTS_ROW, 4),
                                      dtype=np.float32)
        if self.use_ubo:
            self.weights = ctx.buffer(reserve=self._weights_host.nbytes)
        else:
            self.weights = ctx.texture((WEIGHTS_ROW, rows), 4, dtype="f4")
        self.neurons = ctx.buffer(reserve=self.n_hidden * 16)
        self.colours = np.concatenate(neuron_colours(self.sizes)).astype(np.float32)
        self.target = ctx.texture((1, 1), 1, data=b"\x00")
        self.target_shape = (1, 1)
        textures = (self.target,) if self.use_ubo else (self.weights, self.target)
        for texture in textures:
            texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
        if self.path == "fragment":
            self.vbo = ctx.buffer(COVER_VIEWPORT.tobytes())
            self.vao = ctx.vertex_array(self.program, [(self.vbo, "2f", "in_position")])
        self.weights_key: Hashable = None
        # Every uniform the shader reads must be set each frame: draw() checks against this set.
        self.active_uniforms = [name for name in self.program if isinstance(self.program[name], moderngl.Uniform)]
        self._neuron_state: bytes | None = None
        self.uploads = 0  # weight uploads so far: the window asserts one per snapshot change
        self.activation = activation
        self._flat = np.zeros(parameter_count(self.sizes), np.float32)  # the uploaded parameters (contrast)
        self._p_range: tuple[float, float] | None = None

    # ---- inputs ------------------------------------------------------------------------------------

    def set_weights(self, flat: np.ndarray, key: Hashable = None) -> bool:
        """Upload a snapshot's parameters unless `key` says they are already there."""
        if key is not None and key == self.weights_key:
            return False
        self._flat, self._p_range = np.asarray(flat, dtype=np.float32), None
        packed = self.layout.pack(self._flat, self.sizes)
        self._weights_host[:len(packed)] = packed
        self.weights.write(self._weights_host.tobytes())
        self.weights_key = key
        self.uploads += 1
        return True

    @property
    def flat(self) -> np.ndarray:
        """The uploaded snapshot's parameters (float32)."""
        return self._flat

    def prediction_range(self) -> tuple[float, float]:
        """The lowest and highest p of the uploaded network over the target's pixel centres (the
        original GINN stretched each picture from its own min to max over its 200x200 grid)."""
        if self._p_range is None:
            height, width = self.target_shape
            p = evaluate(self._flat, self.sizes, self.activation, target_points((height, width))).probability
            self._p_range = (float(p.min()), float(p.max()))
        return self._p_range

    def set_target(self, pixels: np.ndarray) -> None:
        """The run's 0/1 target, row 0 = top (sampled nearest-neighbour)."""
        height, width = pixels.shape
        self.target_shape = (height, width)
        data = (np.ascontiguousarray(pixels, dtype=np.uint8) * 255).tobytes()
        if self.target.size != (width, height):
            self.target.release()
            self.target = self.ctx.texture((width, height), 1, data=data, alignment=1)
            self.target.filter = (moderngl.NEAREST, moderngl.NEAREST)
        else:
            self.target.write(data, alignment=1)

    def _set_neurons(self, shown: np.ndarray, highlighted: int | None) -> None:
        """Which hidden neurons draw their line (bool per neuron) and which one is drawn thicker."""
        state = np.zeros((self.n_hidden, 4), dtype=np.float32)
        state[:, :3] = self.colours
        state[:, 3] = np.asarray(shown, dtype=bool)
        if highlighted is not None and 0 <= highlighted < self.n_hidden:
            state[highlighted, 3] = 2.0
        data = state.tobytes()
        if data != self._neuron_state:  # toggles change a few bytes; skip the upload otherwise
            self.neurons.write(data)
            self._neuron_state = data

    # ---- drawing ---------------------------------------------------------------------------------

    def uniforms(self, viewport: tuple[int, int, int, int], view: ViewSettings,
                 pixel_scale: float = 1.0, lines: bool = True) -> dict[str, Any]:
        values = {
            "u_target": TARGET_UNIT,
            "u_domain": tuple(float(v) for v in view.domain),
            "u_extent": extent(self.target_shape),
            "u_viewport": tuple(float(v) for v in viewport),
            "u_view": BACKGROUNDS.index(view.background),
            "u_line_width": float(view.line_width) * pixel_scale,
            "u_highlight_width": float(view.highlight_width) * pixel_scale,
            "u_output_width": OUTPUT_WIDTH * pixel_scale if view.output_boundary and lines else 0.0,
            "u_output_halo": OUTPUT_HALO * pixel_scale,  # scaled too: a reduced view's halo is no wider
            "u_p_range": self.prediction_range() if view.contrast == "stretch" else (0.0, 1.0),
            "u_gradient_shade": view.shading == "gradient",
            "u_solo": -1 if view.solo is None else int(view.solo),
            "u_probe": -1 if view.probe is None else int(view.probe),
        }
        if not self.use_ubo:
            values["u_weights"] = WEIGHTS_UNIT
        if self.path == "compute":
            values["u_image"] = IMAGE_UNIT
            values["u_region"] = (0, 0, int(viewport[2]), int(viewport[3]))  # draw() narrows it to a tile
        return values

    def draw(self, viewport: tuple[int, int, int, int], view: ViewSettings, pixel_scale: float = 1.0,
             region: tuple[int, int, int, int] | None = None, lines: bool = True) -> None:
        """Render into the bound framebuffer's `viewport` (x, y from the bottom left, w, h).

        `pixel_scale` < 1 draws a reduced view that is shown upscaled by 1 / pixel_scale: line widths
        shrink with it, so the lines keep their width on the screen. `region` (x, y, w, h within the
        viewport) is the part to shade: a tile of a view larger than the framebuffer, which the
        viewport then overhangs (a fragment shader only shades the framebuffer's own pixels). Without
        `lines`, the background alone (a solo neuron's tint included): lines drawn as geometry go over it."""
        values = self.uniforms(viewport, view, pixel_scale, lines)
        if self.path == "compute" and region is not None:
            values["u_region"] = tuple(int(v) for v in region)
        missing = set(self.active_uniforms) - values.keys()
        if missing:
            raise RuntimeError(f"network.glsl uniforms left unset: {sorted(missing)}")
        for name in self.active_uniforms:
            self.program[name].value = values[name]
        if not lines:
            self._set_neurons(np.zeros(self.n_hidden, bool), None)
        elif view.solo is not None:  # alone: only its line
            self._set_neurons(np.arange(self.n_hidden) == view.solo, view.highlighted)
        else:
            self._set_neurons(view.shown, view.highlighted)
        if self.use_ubo:
            self.program["Weights"].binding = WEIGHTS_BINDING
            self.weights.bind_to_uniform_block(WEIGHTS_BINDING)
        else:
            self.weights.use(WEIGHTS_UNIT)
        self.program["Neurons"].binding = NEURONS_BINDING
        self.neurons.bind_to_uniform_block(NEURONS_BINDING)
        self.target.use(TARGET_UNIT)
        self.ctx.viewport = viewport
        self.ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST)
        if self.path == "compute":
            x, y, width, height = region if region is not None else (0, 0, int(viewport[2]), int(viewport[3]))
            self._shade_image(width, height)
            self.blit.draw(self.image, (viewport[0] + x, viewport[1] + y), unit=BLIT_UNIT)
        else:
            self.vao.render(moderngl.TRIANGLES, vertices=3)

    def _shade_image(self, width: int, height: int) -> None:
        """Compute path: shade the region into self.image (for blit.glsl to copy)."""
        if self.image is None or self.image.size != (width, height):
            if self.image is not None:
                self.image.release()
            self.image = self.ctx.texture((width, height), 4, dtype="f4")
            self.image.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.image.bind_to_image(IMAGE_UNIT, read=False, write=True)
        self.program.run(-(-width // COMPUTE_GROUP), -(-height // COMPUTE_GROUP))
        self.ctx.memory_barrier(moderngl.TEXTURE_FETCH_BARRIER_BIT)

    def release(self) -> None:
        resources = [self.weights, self.neurons, self.target, self.program]
        if self.path == "compute":
            resources += [self.blit] + ([self.image] if self.image is not None else [])
        else:
            resources += [self.vao, self.vbo]
        for resource in resources:
            resource.release()


class Blit:
    """blit.glsl: copies a texture into the bound framebuffer's viewport, texel for pixel or scaled."""

    def __init__(self, ctx: moderngl.Context):
        self.program = load_program(ctx, "blit.glsl")
        self.vbo = ctx.buffer(COVER_VIEWPORT.tobytes())
        self.vao = ctx.vertex_array(self.program, [(self.vbo, "2f", "in_position")])

    def draw(self, texture: moderngl.Texture, origin: tuple[int, int], size: tuple[int, int] | None = None,
             unit: int = 0) -> None:
        """Fill the rectangle at `origin` (bottom left) of `size` (default the texture's) with the texture."""
        texture.use(unit)
        self.program["u_image"].value = unit
        self.program["u_origin"].value = tuple(origin)
        self.program["u_size"].value = tuple(size or texture.size)
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        for resource in (self.vao, self.vbo, self.program):
            resource.release()


def choose_shader_path(ctx: moderngl.Context, requested: str = "auto") -> str:
    """Where the per-pixel network runs: a fragment shader, or a compute shader (OpenGL 4.3).

    auto picks compute on a GPU that offers it (a compute GPU shades fragments on a few of its
    SMs) and fragment on a CPU rasteriser, where the fragment path is the tuned one.
    """
    if requested not in SHADER_PATHS:
        raise ValueError(f"shader path must be one of {SHADER_PATHS}, not {requested!r}")
    can_compute = ctx.version_code >= 430
    if requested == "compute" and not can_compute:
        raise ValueError(f"the compute path needs OpenGL 4.3; this context is {ctx.version_code / 100:.1f}")
    if requested == "auto":
        return "compute" if can_compute and not software_renderer(ctx) else "fragment"
    return requested


class OffscreenTarget:
    """A framebuffer to render into without a window: 8-bit RGBA (PNG) or 32-bit float (tests)."""

    def __init__(self, ctx: moderngl.Context, width: int, height: int, dtype: str = "f1"):
        self.ctx = ctx
        self.size = (width, height)
        self.texture = ctx.texture((width, height), 4, dtype=dtype)
        self.fbo = ctx.framebuffer(color_attachments=[self.texture])
        self.dtype = dtype

    def __enter__(self) -> OffscreenTarget:
        self.fbo.use()
        return self

    def __exit__(self, *exc) -> None:
        self.ctx.screen.use() if self.ctx.screen is not None else None

    def read(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The pixels (of the bottom-left `size`, default all) as [height, width, 4], row 0 = top."""
        dtype = np.uint8 if self.dtype == "f1" else np.float32
        width, height = size or self.size
        raw = self.fbo.read(viewport=(0, 0, width, height), components=4, dtype=self.dtype, alignment=1)
        return np.frombuffer(raw, dtype=dtype).reshape(height, width, 4)[::-1].copy()

    def release(self) -> None:
        self.fbo.release()
        self.texture.release()


TILE = 2048  # a large frame is drawn in tiles this size: its float pixels never all exist at once


def render_image(ctx: moderngl.Context, renderer: NetworkRenderer, size: tuple[int, int], view: ViewSettings,
                 dtype: str = "f1", channels: int = 4, pixel_scale: float = 1.0, lines: bool = True) -> np.ndarray:
    """Render one frame offscreen and return it as [height, width, channels] (row 0 = top).

    8-bit frames are rounded here from a float render: GL lets a driver convert to 8 bits by
    either neighbouring level (NVIDIA's differ from round() in ~2% of pixels), numpy does not.
    Frames larger than TILE are drawn tile by tile, so memory holds one float tile at a time.
    `pixel_scale` < 1 draws what the window's progressive view draws reduced, `lines` False the
    background only (see draw()).
    """
    width, height = size
    out = np.empty((height, width, channels), dtype=np.float32 if dtype == "f4" else np.uint8)
    target = OffscreenTarget(ctx, min(TILE, width), min(TILE, height), dtype="f4")
    try:
        for ty in range(0, height, TILE):  # GL's rows count from the bottom
            for tx in range(0, width, TILE):
                tile_width, tile_height = min(TILE, width - tx), min(TILE, height - ty)
                with target:
                    renderer.draw((-tx, -ty, width, height), view, pixel_scale,
                                  region=(tx, ty, tile_width, tile_height), lines=lines)
                pixels = target.read((tile_width, tile_height))[..., :channels]
                rows = slice(height - ty - tile_height, height - ty)
                if dtype == "f4":
                    out[rows, tx:tx + tile_width] = pixels
                else:
                    out[rows, tx:tx + tile_width] = np.round(np.clip(pixels, 0.0, 1.0) * 255.0)
    finally:
        target.release()
    return out
