"""Temporal normalisation: resample a clip to a fixed number of frames.

- ``linear``: each output frame blends the two nearest input frames.
- ``tim``: the temporal interpolation model (Zhou et al. 2011, used by Pfister et al. for
  micro-expressions). It embeds the clip on the path graph's Laplacian eigenmap, the curve
  y_k(t) = sin(π k t + π (n − k) / (2n)), k = 1 .. n−1, learns the linear map from that curve to
  the mean-centred frames, and samples the curve at new times. Those eigenvectors are the cosine
  (DCT-II) basis, so the model reproduces every input frame exactly and interpolates smoothly
  between them instead of piecewise-linearly.
"""

from __future__ import annotations

import numpy as np

from microexp.errors import ConfigError, DataError

INTERPOLATIONS = ("linear", "tim")


def resample(frames: np.ndarray, length: int, method: str = "linear") -> np.ndarray:
    """(T, ...) frames to (length, ...) frames spanning the same first-to-last interval, as float32."""
    if method not in INTERPOLATIONS:
        raise ConfigError(f"interpolation {method!r} is unknown; choose one of {INTERPOLATIONS}")
    if length < 2:
        raise ConfigError(f"a resampled clip needs at least 2 frames, got length={length}")
    count = len(frames)
    if count < 2:
        raise DataError(f"resampling needs at least 2 input frames, got {count}")
    data = np.asarray(frames, dtype=np.float32)
    if method == "linear":
        position = np.linspace(0, count - 1, length)
        low = np.minimum(np.floor(position).astype(int), count - 2)
        weight = (position - low).reshape(-1, *([1] * (data.ndim - 1)))
        return (1 - weight) * data[low] + weight * data[low + 1]
    flat = data.reshape(count, -1)
    mean = flat.mean(axis=0)
    curve = _tim_curve(count, np.arange(1, count + 1) / count)  # (n-1, n)
    # the curve's rows are orthogonal with squared norm n/2, so the least-squares map is a product
    mapping = (flat - mean).T @ curve.T * (2 / count)
    new_times = np.linspace(1 / count, 1, length)
    out = (mapping @ _tim_curve(count, new_times)).T + mean
    return out.reshape(length, *data.shape[1:]).astype(np.float32)


def _tim_curve(count: int, times: np.ndarray) -> np.ndarray:
    k = np.arange(1, count)[:, None]
    return np.sin(np.pi * k * times[None, :] + np.pi * (count - k) / (2 * count))
