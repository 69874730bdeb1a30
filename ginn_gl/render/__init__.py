"""Drawing with moderngl and numpy (never torch): contexts, shaders, the network view, export."""
