"""Dear ImGui's draw data, rendered with moderngl (no PyOpenGL), into a window or an EGL framebuffer.

Implements imgui >= 1.92's texture protocol (RendererHasTextures): the font atlas and any other
texture ImGui asks for are created, updated and destroyed here.
"""

from __future__ import annotations

import ctypes

import moderngl
import numpy as np
from imgui_bundle import imgui

from ginn_gl.render.context import load_program


class ImGuiRenderer:
    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.program = load_program(ctx, "imgui.glsl")
        self.program["u_texture"].value = 0
        self.vbo = ctx.buffer(reserve=1 << 16, dynamic=True)
        self.ibo = ctx.buffer(reserve=1 << 16, dynamic=True)
        self._make_vao()
        self.textures: dict[int, moderngl.Texture] = {}
        io = imgui.get_io()
        io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
        limit = ctx.info["GL_MAX_TEXTURE_SIZE"]
        platform = imgui.get_platform_io()
        platform.renderer_texture_max_width = limit
        platform.renderer_texture_max_height = limit

    def _make_vao(self) -> None:
        assert imgui.VERTEX_SIZE == 20 and imgui.INDEX_SIZE in (2, 4)
        self.vao = self.ctx.vertex_array(
            self.program, [(self.vbo, "2f 2f 4f1", "in_position", "in_uv", "in_colour")],
            index_buffer=self.ibo, index_element_size=imgui.INDEX_SIZE)

    def _ensure(self, buffer: moderngl.Buffer, size: int) -> bool:
        """Grow `buffer` to hold `size` bytes; True if it was reallocated."""
        if size <= buffer.size:
            return False
        buffer.orphan(max(size, 2 * buffer.size))
        return True

    # ---- textures ------------------------------------------------------------------------------

    def update_textures(self) -> None:
        for tex in imgui.get_platform_io().textures:
            if tex.status == imgui.ImTextureStatus.ok:
                continue
            if tex.status == imgui.ImTextureStatus.want_create:
                pixels = tex.get_pixels_array().tobytes()
                texture = self.ctx.texture((tex.width, tex.height), 4, pixels)
                texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
                texture.repeat_x = texture.repeat_y = False
                self.textures[texture.glo] = texture
                tex.set_tex_id(texture.glo)
                tex.status = imgui.ImTextureStatus.ok
            elif tex.status == imgui.ImTextureStatus.want_updates:
                texture = self.textures[tex.tex_id]
                pixels = tex.get_pixels_array().reshape(tex.height, tex.width, 4)
                for rect in tex.updates:
                    block = np.ascontiguousarray(pixels[rect.y:rect.y + rect.h, rect.x:rect.x + rect.w])
                    texture.write(block.tobytes(), viewport=(rect.x, rect.y, rect.w, rect.h))
                tex.status = imgui.ImTextureStatus.ok
            elif tex.status == imgui.ImTextureStatus.want_destroy:
                texture = self.textures.pop(tex.tex_id, None)
                if texture is not None:
                    texture.release()
                tex.set_tex_id(0)
                tex.status = imgui.ImTextureStatus.destroyed

    # ---- drawing ------------------------------------------------------------------------------

    def render(self, draw_data: imgui.ImDrawData, framebuffer_size: tuple[int, int]) -> None:
        """Draw into the bound framebuffer of `framebuffer_size` pixels (HiDPI scale applied)."""
        self.update_textures()
        fb_width, fb_height = framebuffer_size
        if fb_width <= 0 or fb_height <= 0 or draw_data.display_size.x <= 0:
            return
        scale_x = fb_width / draw_data.display_size.x
        scale_y = fb_height / draw_data.display_size.y
        origin = draw_data.display_pos
        ctx = self.ctx
        ctx.viewport = (0, 0, fb_width, fb_height)
        ctx.enable_only(moderngl.BLEND)
        ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA,
                          moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA)
        ctx.blend_equation = moderngl.FUNC_ADD
        self.program["u_display"].value = (origin.x, origin.y, draw_data.display_size.x,
                                           draw_data.display_size.y)
        for commands in draw_data.cmd_lists:
            vertex_bytes = commands.vtx_buffer.size() * imgui.VERTEX_SIZE
            index_bytes = commands.idx_buffer.size() * imgui.INDEX_SIZE
            grown = self._ensure(self.vbo, vertex_bytes) | self._ensure(self.ibo, index_bytes)
            if grown:
                self.vao.release()
                self._make_vao()
            self.vbo.write(ctypes.string_at(commands.vtx_buffer.data_address(), vertex_bytes))
            self.ibo.write(ctypes.string_at(commands.idx_buffer.data_address(), index_bytes))
            for command in commands.cmd_buffer:
                x0, y0, x1, y1 = command.clip_rect
                left = max(0, int((x0 - origin.x) * scale_x))
                top = max(0, int((y0 - origin.y) * scale_y))
                right = min(fb_width, int((x1 - origin.x) * scale_x + 0.999))
                bottom = min(fb_height, int((y1 - origin.y) * scale_y + 0.999))
                if right <= left or bottom <= top:
                    continue
                ctx.scissor = (left, fb_height - bottom, right - left, bottom - top)
                texture = self.textures.get(command.tex_ref.get_tex_id())
                if texture is not None:
                    texture.use(0)
                self.vao.render(moderngl.TRIANGLES, vertices=command.elem_count, first=command.idx_offset)
        ctx.scissor = None
        ctx.disable(moderngl.BLEND)

    def release(self) -> None:
        for texture in self.textures.values():
            texture.release()
        self.textures.clear()
        for resource in (self.vao, self.vbo, self.ibo, self.program):
            resource.release()
