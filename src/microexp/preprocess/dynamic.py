"""Dynamic images: a clip summarised as one image by approximate rank pooling (Bilen et al., "Dynamic image
networks for action recognition", CVPR 2016).

Rank pooling finds the linear function of a frame whose scores rise with time; its first gradient step from
zero has a closed form, a weighted sum of the frames, Σ_t α_t x_t, with
α_t = 2(T − t + 1) − (T + 1)(H_T − H_{t−1}) (t = 1..T, H_t the t-th harmonic number). The weights are
negative on the early frames and positive on the later ones, and sum to zero, so a still clip gives a zero
image and a pixel that brightens steadily over the clip comes out positive (Σ_t α_t t > 0), one that darkens
negative: the image shows where and which way the face changed.
"""

from __future__ import annotations

import numpy as np

from microexp.errors import DataError


def rank_pooling_weights(length: int) -> np.ndarray:
    """The approximate rank pooling weights α_1..α_T (float64, summing to zero)."""
    if length < 1:
        raise DataError(f"a dynamic image needs at least one frame, got {length}")
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, length + 1))])
    t = np.arange(1, length + 1)
    return 2.0 * (length - t + 1) - (length + 1) * (harmonic[length] - harmonic[t - 1])


def dynamic_image(frames: np.ndarray) -> np.ndarray:
    """Σ_t α_t x_t over the first axis of ``frames`` (T, ...): float64, signed, in the frames' units."""
    frames = np.asarray(frames, dtype=np.float64)
    return np.tensordot(rank_pooling_weights(len(frames)), frames, axes=1)


def to_unit_range(image: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1], as dynamic images are shown and used as targets; a flat image (a still clip)
    becomes 0.5, neither brightening nor darkening."""
    low, high = float(image.min()), float(image.max())
    if high - low < 1e-9:
        return np.full(image.shape, 0.5)
    return (image - low) / (high - low)
