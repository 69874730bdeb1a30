"""ginn-gl: watch a ReLU network carve up its input plane while it learns."""

__version__ = "0.1.0"
