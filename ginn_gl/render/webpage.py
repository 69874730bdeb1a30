"""`export --out page.html`: runs as one self-contained web page, drawn by network.glsl in WebGL2.

The page is the template in page/ (HTML, CSS, plain JS, inlined) plus one JSON block: the shader's
GLSL ES 3.00 source built from shaders/network.glsl with the desktop renderer's #defines, the view
defaults from ViewSettings, and each run's history. Weights travel losslessly as float32: per
parameter the XOR of successive snapshots' bits, split into byte planes, deflated, base64 (the page
inflates them with the browser's DecompressionStream), about 40% of the raw float32 bytes.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import numpy as np

from ginn_gl.core import view as views
from ginn_gl.core.network import describe, parameter_count
from ginn_gl.core.pace import DEFAULT_SPEED, MAX_SPEED, MIN_SPEED
from ginn_gl.core.palette import INPUT_NODE, OUTPUT_BOUNDARY, family_name, neuron_colours
from ginn_gl.core.resources import shader_dir
from ginn_gl.core.runfile import Run, printable
from ginn_gl.core.selection import hidden_widths
from ginn_gl.core.view import ViewSettings
from ginn_gl.render.context import build_source
from ginn_gl.render.renderer import WEIGHTS_ROW, WeightLayout, shader_defines

PAGE_DIR = Path(__file__).parent / "page"
SCRIPTS = ("data.js", "glview.js", "plots.js", "state.js", "page.js", "panel.js", "main.js")  # inlined in this order
WEB_VERSION = "#version 300 es"
# ES defaults int to mediump (the pattern hash needs 32 bits) and samplers to lowp (the RGBA32F weights).
WEB_PRECISION = ("precision highp float;", "precision highp int;", "precision highp sampler2D;")
WEB_UBO_BYTES = 16384  # every WebGL2 browser offers uniform blocks this large (the spec's minimum)
LOSS_POINTS = 2000  # the minibatch curve: at most this many bucket means, as the window plots it
WEIGHTS_ENCODING = "float32-xor-planes-deflate"


def web_header() -> str:
    """What precedes build_source's #defines in the page's shaders instead of `#version 330 core`."""
    return "\n".join((WEB_VERSION, *WEB_PRECISION))


def uses_uniform_block(sizes: list[int]) -> bool:
    """Whether the page keeps the weights in a uniform block (else the RGBA32F texture), as the desktop does
    within its context's limit."""
    return WeightLayout.for_sizes(sizes).texels * 16 <= WEB_UBO_BYTES


def shader_program(sizes: list[int], activation: str) -> dict[str, object]:
    """network.glsl's vertex and fragment stages for WebGL2, with the desktop renderer's #defines."""
    layout = WeightLayout.for_sizes(sizes)
    ubo = uses_uniform_block(sizes)
    defines = shader_defines(sizes, activation, layout.texels if ubo else None)
    text = (shader_dir() / "network.glsl").read_text(encoding="utf-8")
    return {"sizes": list(sizes), "activation": activation, "weights": "ubo" if ubo else "texture",
            "texels": layout.texels, "weights_row": WEIGHTS_ROW,
            "layout": {"in4": layout.in4, "out": layout.out, "w_offset": layout.w_offset,
                       "b_offset": layout.b_offset},
            "vertex": build_source(text, "VERTEX_SHADER", defines, web_header()),
            "fragment": build_source(text, "FRAGMENT_SHADER", defines, web_header())}


def _planes(words: np.ndarray) -> bytes:
    """Little-endian words as byte planes (all lowest bytes, then the next...): like bytes deflate better."""
    return np.ascontiguousarray(words.astype(words.dtype.newbyteorder("<")).view(np.uint8)
                                .reshape(-1, words.itemsize).T).tobytes()


def _pack(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def encode_weights(weights: np.ndarray) -> str:
    """float32 [S, P] -> base64 text: parameter by parameter, each snapshot's bits XOR the previous one's
    (a slowly changing weight keeps its sign, exponent and high mantissa: zero bytes), in byte planes,
    deflated. Lossless: the page draws the run's exact weights."""
    bits = np.ascontiguousarray(np.asarray(weights, dtype=np.float32).T).view(np.uint32)
    delta = bits.copy()
    delta[:, 1:] ^= bits[:, :-1]
    return _pack(_planes(delta))


def decode_weights(text: str, count: int, params: int) -> np.ndarray:
    """encode_weights' inverse (what the page's data.js does), for tests and tools."""
    planes = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.uint8).reshape(4, params * count)
    delta = np.ascontiguousarray(planes.T).view("<u4").reshape(params, count)
    return np.bitwise_xor.accumulate(delta, axis=1).astype(np.uint32).view(np.float32).T.copy()


def _rounded(values: np.ndarray, digits: int = 6) -> list[float]:
    """Plot data as short JSON numbers (the curves need no more)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64).tolist()]


def minibatch_curve(steps: np.ndarray, loss: np.ndarray, most: int = LOSS_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `most` points: means of equal buckets (the unfinished tail its own point), as the window."""
    if len(loss) <= most:
        return steps, loss
    width = -(-len(loss) // most)
    cut = len(loss) // width * width
    bucket_steps = np.concatenate([steps[width - 1:cut:width], steps[cut:][-1:]])
    means = np.concatenate([loss[:cut].reshape(-1, width).mean(axis=1), [loss[cut:].mean()] if cut < len(loss) else []])
    return bucket_steps, means


def run_data(run: Run, name: str, program: int, keep: np.ndarray | None = None) -> dict[str, object]:
    """One run's history as JSON-ready data; `keep` (snapshot indices) thins it."""
    index = np.arange(len(run)) if keep is None else np.asarray(keep)
    weights = run.weights[index]
    loss_steps, loss = minibatch_curve(run.loss_steps, run.loss.astype(np.float64))
    height, width = run.target.shape
    meta = {key: run.meta[key] for key in ("seed", "image", "resolution", "activation", "head", "batch_size", "lr",
                                           "steps", "steps_done", "state") if key in run.meta}
    return {
        "name": printable(name), "sizes": run.layers, "activation": run.activation, "program": program,
        "describe": describe(run.layers), "meta": meta,
        "colours": [layer.astype(np.float64).tolist() for layer in neuron_colours(run.layers)],  # float32, exactly
        "steps": [int(s) for s in run.steps[index]], "snap_loss": _rounded(run.snap_loss[index]),
        "loss_steps": [int(s) for s in loss_steps], "loss": _rounded(loss, 5),
        "target": {"width": width, "height": height, "data": _pack(np.ascontiguousarray(run.target, np.uint8)
                                                                      .tobytes())},
        "weights": {"encoding": WEIGHTS_ENCODING, "count": len(index), "params": parameter_count(run.layers),
                    "data": encode_weights(weights)},
        # Each neuron dead 0 / always on 1 / switching 2 per snapshot, stored + 1 (-1: not measured).
        "status": _pack((np.asarray(run.status)[index] + 1).astype(np.uint8).tobytes()),
    }


def view_defaults(home: tuple[float, float, float, float]) -> dict[str, object]:
    """ViewSettings' defaults, in render's option names: what a link leaves out (`home`: the whole picture)."""
    default = ViewSettings([2, 1, 1])  # the field defaults (the network's shape changes none of them)
    return {"view": default.background, "line-width": default.line_width, "output-boundary": default.output_boundary,
            "contrast": default.contrast, "shading": default.shading, "domain": list(home),
            "neurons": "all" if default.shown.all() else "none", "solo": default.solo,
            "highlight": default.highlighted}


def view_state(view: ViewSettings) -> dict[str, object]:
    """What the page shows when opened without a hash: export's view options."""
    return {"view": view.background, "line_width": view.line_width, "output_boundary": view.output_boundary,
            "contrast": view.contrast, "shading": view.shading, "domain": [float(v) for v in view.domain],
            "shown": [bool(v) for v in view.shown], "solo": view.solo, "highlighted": view.highlighted}


def page_data(runs: list[Run], names: list[str], view: ViewSettings, labels: bool = True,
              keep: list[np.ndarray] | None = None) -> dict[str, object]:
    """Everything the page reads, JSON-ready."""
    programs: list[dict[str, object]] = []
    keys: list[tuple] = []
    data_runs = []
    for k, run in enumerate(runs):
        key = (tuple(run.layers), run.activation)
        if key not in keys:
            keys.append(key)
            programs.append(shader_program(run.layers, run.activation))
        data_runs.append(run_data(run, names[k], keys.index(key), None if keep is None else keep[k]))
    sizes = runs[0].layers
    return {
        "format": "ginn-page/1", "labels": labels, "runs": data_runs, "programs": programs,
        "defaults": view_defaults(view.home), "initial": view_state(view),
        "choices": {"view": views.BACKGROUNDS, "contrast": views.CONTRASTS, "shading": views.SHADINGS},
        "constants": {"output_width": views.OUTPUT_WIDTH, "output_halo": views.OUTPUT_HALO, "min_span": views.MIN_SPAN,
                      "max_span": views.MAX_SPAN, "default_domain": list(view.home),
                      "max_coordinate": views.MAX_COORDINATE, "min_domain_span": views.MIN_DOMAIN_SPAN,
                      "default_speed": DEFAULT_SPEED, "min_speed": MIN_SPEED, "max_speed": MAX_SPEED},
        "palette": {"families": [family_name(layer) for layer in range(len(hidden_widths(sizes)))],
                    "input": list(INPUT_NODE), "output": list(OUTPUT_BOUNDARY)},
    }


def script_json(data: object) -> str:
    """JSON safe inside <script>: no `</script>` or `<!--` can end or change the block."""
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


def build_page(runs: list[Run], names: list[str], view: ViewSettings, labels: bool = True,
               keep: list[np.ndarray] | None = None) -> str:
    """The whole page as one HTML string."""
    template = (PAGE_DIR / "page.html").read_text(encoding="utf-8")
    style = (PAGE_DIR / "page.css").read_text(encoding="utf-8")
    scripts = "\n".join((PAGE_DIR / name).read_text(encoding="utf-8") for name in SCRIPTS)
    title = "ginn-gl: " + ", ".join(printable(name) for name in names)
    parts = {"/*@STYLE@*/": style, "@TITLE@": _html_text(title),
             "/*@DATA@*/": script_json(page_data(runs, names, view, labels, keep)),
             "/*@SCRIPTS@*/": scripts.replace("</script", "<\\/script")}
    # One pass: a run's name holding a marker cannot pull in another part.
    return re.sub("|".join(re.escape(marker) for marker in parts), lambda m: parts[m.group(0)], template)


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
