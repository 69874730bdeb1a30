"""The window: glfw and Dear ImGui over the renderer; settings, keymap, panel and the frame."""
