"""Eulerian motion magnification (Wu et al. 2012), linear variant: Laplacian pyramid per frame,
ideal temporal band-pass per pyramid level, amplified band added back.

Small motions inside the pass band grow by about (1 + factor). As in the authors' reference code,
the amplification of a level is capped where magnifying would exceed the first-order Taylor
approximation for its spatial wavelength (``cutoff_wavelength``, λ_c), and the finest level and the
low-pass residual are not amplified (noise and global brightness).
"""

from __future__ import annotations

import cv2
import numpy as np

from microexp.errors import ConfigError, DataError


def magnify(
    frames: np.ndarray,
    fps: float,
    low_hz: float,
    high_hz: float,
    factor: float = 10.0,
    levels: int = 4,
    cutoff_wavelength: float = 16.0,
) -> np.ndarray:
    """Magnified grey frames (T, H, W) uint8 → uint8 of the same shape."""
    if not 0 <= low_hz < high_hz <= fps / 2:
        raise ConfigError(
            f"pass band {low_hz}–{high_hz} Hz must satisfy 0 ≤ low < high ≤ fps/2 = {fps / 2} Hz"
        )
    if factor < 0 or levels < 2:
        raise ConfigError(f"factor must be ≥ 0 and levels ≥ 2, got factor={factor}, levels={levels}")
    if len(frames) < 3 or np.asarray(frames).ndim != 3:
        raise DataError(f"magnification needs grey frames (T ≥ 3, H, W), got shape {np.shape(frames)}")
    pyramids = [_laplacian_pyramid(frame.astype(np.float32), levels) for frame in frames]
    count = len(frames)
    frequencies = np.fft.rfftfreq(count, d=1.0 / fps)
    band = ((frequencies >= low_hz) & (frequencies <= high_hz)).astype(np.float32)
    height, width = frames[0].shape
    wavelength = np.hypot(height, width) / 3  # representative wavelength of the coarsest band level
    delta = cutoff_wavelength / 8 / (1 + factor)
    gains = np.zeros(levels + 1)
    for level in range(levels - 1, 0, -1):  # coarsest band level first; level 0 (finest) stays 0
        gains[level] = min(factor, 2 * (wavelength / delta / 8 - 1))
        wavelength /= 2
    for level in range(levels + 1):
        if gains[level] <= 0:
            continue
        stack = np.stack([pyramid[level] for pyramid in pyramids])
        filtered = np.fft.irfft(np.fft.rfft(stack, axis=0) * band[:, None, None], n=count, axis=0)
        for pyramid, amplified in zip(pyramids, stack + gains[level] * filtered, strict=True):
            pyramid[level] = amplified.astype(np.float32)
    return np.stack([np.clip(np.rint(_collapse(p)), 0, 255).astype(np.uint8) for p in pyramids])


def _laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """``levels`` band-pass images, finest first, then the low-pass residual."""
    pyramid = []
    current = image
    for _ in range(levels):
        smaller = cv2.pyrDown(current)
        pyramid.append(current - cv2.pyrUp(smaller, dstsize=current.shape[::-1]))
        current = smaller
    pyramid.append(current)
    return pyramid


def _collapse(pyramid: list[np.ndarray]) -> np.ndarray:
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = band + cv2.pyrUp(image, dstsize=band.shape[::-1])
    return image
