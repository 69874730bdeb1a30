"""The core: numpy and plain Python only (network, history, run files, targets, settings).

Every other layer builds on it; it imports none of torch, moderngl, glfw or imgui_bundle.
"""
