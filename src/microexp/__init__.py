"""microexp: facial micro-expression recognition from raw face video to honestly evaluated models."""

__version__ = "0.1.0"
