"""Thumbnails of the built-in targets for Setup's gallery: small textures ImGui draws by their GL name."""

from __future__ import annotations

import moderngl
import numpy as np

from ginn_gl.core.sources import load_target
from ginn_gl.core.targets import builtin_targets
from ginn_gl.ui.imgui_renderer import ImGuiRenderer

SIDE = 48  # pixels: each target drawn at this resolution


class Gallery:
    def __init__(self, ctx: moderngl.Context, ui: ImGuiRenderer):
        self.ui = ui
        self.textures: dict[str, int] = {}  # built-in name -> GL texture name
        self._owned: list[moderngl.Texture] = []
        for name in builtin_targets():
            pixels = load_target(name, SIDE).pixels
            rgba = np.repeat((pixels * 235 + 20).astype(np.uint8)[..., None], 4, axis=2)
            rgba[..., 3] = 255
            texture = ctx.texture((pixels.shape[1], pixels.shape[0]), 4, rgba.tobytes())
            ui.textures[texture.glo] = texture  # ImGui draws it by its GL name
            self.textures[name] = texture.glo
            self._owned.append(texture)

    def release(self) -> None:
        for texture in self._owned:
            self.ui.textures.pop(texture.glo, None)
            texture.release()
        self._owned.clear()
