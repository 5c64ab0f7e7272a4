"""Small image helpers every builder shares: resizing a uint8 image as every model input is resized."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W, C) uint8 image resized to size × size, channel by channel (bilinear, as PIL does it)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    channels = [
        np.asarray(Image.fromarray(image[..., c]).resize((size, size), Image.BILINEAR)) for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=-1)


def as_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W, C) uint8 with ``channels`` channels: grey is repeated to RGB, RGB is converted to grey."""
    image = image[..., None] if image.ndim == 2 else image
    if channels == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if channels == 1 and image.shape[2] == 3:
        return np.asarray(Image.fromarray(image).convert("L"))[..., None]
    return image


def channels_first(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> (C, H, W) float32, the 0-255 values kept (the engine standardises)."""
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
