"""LBP-TOP (Zhao & Pietikäinen, 2007): local binary patterns on three orthogonal planes of a clip, the
MEGC2019 challenge baseline and the descriptor every MER paper still reports.

Each pixel of the volume (T, H, W) away from its borders is compared with ``points`` neighbours on an
ellipse in each plane: XY (radii ``radius_x``, ``radius_y``: appearance), XT (``radius_x``, ``radius_t``:
horizontal motion) and YT (``radius_y``, ``radius_t``: vertical motion). A neighbour at or above the centre
sets its bit (bit p for the neighbour at angle 2πp/P, counter-clockwise from the right, as scikit-image
numbers them); off-grid neighbours are interpolated linearly. Codes map to the uniform patterns (at most two
0/1 transitions around the circle: 58 of them for P = 8, plus one bin for every other code), and each
plane's codes are counted in each of ``blocks × blocks`` spatial blocks.

Layout of :func:`lbp_top`: plane (XY, XT, YT), then block (row-major), then uniform bin; every histogram
sums to 1. Length 3 · blocks² · (P·(P-1) + 3).
"""

from __future__ import annotations

import numpy as np

from microexp.errors import DataError

PLANES = ("xy", "xt", "yt")


def uniform_bins(points: int = 8) -> np.ndarray:
    """Lookup from an LBP code to its uniform bin: uniform codes in increasing order, then one shared bin."""
    codes = np.arange(2**points)
    bits = (codes[:, None] >> np.arange(points)) & 1
    transitions = (bits != np.roll(bits, 1, axis=1)).sum(axis=1)
    uniform = transitions <= 2
    table = np.full(2**points, uniform.sum(), dtype=np.int64)
    table[uniform] = np.arange(uniform.sum())
    return table


def bin_count(points: int = 8) -> int:
    return points * (points - 1) + 3


def _shifted(volume: np.ndarray, offset: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """The volume sampled at every centre (inside ``margin``) plus ``offset`` (dt, dy, dx), trilinear."""
    size = np.array(volume.shape) - 2 * margin
    low = np.floor(offset).astype(int)
    frac = offset - low
    out = np.zeros(tuple(size), dtype=np.float64)
    for corner in np.ndindex(2, 2, 2):
        weight = np.prod(np.where(corner, frac, 1 - frac))
        if weight < 1e-12:
            continue
        start = margin + low + np.array(corner)
        out += weight * volume[tuple(slice(s, s + n) for s, n in zip(start, size, strict=True))]
    return out


def plane_codes(
    volume: np.ndarray, plane: str, *, radius_x: float = 1, radius_y: float = 1, radius_t: float = 1, points: int = 8
) -> np.ndarray:
    """LBP codes (T', H', W') of one plane at every centre whose neighbourhoods in all three planes fit in
    the volume (the same centres for every plane, so their histograms count the same pixels)."""
    volume = np.asarray(volume, dtype=np.float64)
    margin = np.ceil([radius_t, radius_y, radius_x]).astype(int)
    if np.any(np.array(volume.shape) <= 2 * margin):
        raise DataError(
            f"LBP-TOP needs a clip larger than twice its radii (t, y, x) = {tuple(margin)}, got {volume.shape}; "
            "use smaller radii or a longer clip"
        )
    angles = 2 * np.pi * np.arange(points) / points
    # each plane's first axis of the ellipse is the horizontal one of its picture: x for XY and XT, y for YT
    # (read along y the way XT is read along x), the second the vertical one: y for XY, t for XT and YT
    across = np.round(np.cos(angles), 10)
    up = np.round(-np.sin(angles), 10)  # rows grow downwards: the neighbour at 90 degrees is one row up
    offsets = {
        "xy": np.stack([0 * up, radius_y * up, radius_x * across], axis=1),
        "xt": np.stack([radius_t * up, 0 * up, radius_x * across], axis=1),
        "yt": np.stack([radius_t * up, radius_y * across, 0 * up], axis=1),
    }[plane]
    centre = _shifted(volume, np.zeros(3), margin)
    codes = np.zeros(centre.shape, dtype=np.int64)
    for bit, offset in enumerate(offsets):
        codes |= (_shifted(volume, offset, margin) >= centre - 1e-9).astype(np.int64) << bit
    return codes


def _block_histograms(bins: np.ndarray, blocks: int, count: int) -> np.ndarray:
    """Normalised histograms of ``bins`` (T, H, W) in each of blocks × blocks spatial blocks."""
    _, height, width = bins.shape
    rows = np.minimum(np.arange(height) * blocks // height, blocks - 1)
    cols = np.minimum(np.arange(width) * blocks // width, blocks - 1)
    block = (rows[:, None] * blocks + cols[None, :])[None].repeat(bins.shape[0], axis=0)
    histograms = np.bincount((block * count + bins).ravel(), minlength=blocks * blocks * count)
    histograms = histograms.reshape(blocks * blocks, count).astype(np.float64)
    return histograms / np.maximum(histograms.sum(axis=1, keepdims=True), 1)


def lbp_top(
    frames: np.ndarray,
    *,
    blocks: int = 5,
    radius_x: float = 1,
    radius_y: float = 1,
    radius_t: float = 1,
    points: int = 8,
) -> np.ndarray:
    """The LBP-TOP descriptor of grey frames (T, H, W): (3 · blocks² · bins,) float32, see the module doc."""
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise DataError(f"LBP-TOP reads grey frames (T, H, W), got an array of shape {frames.shape}")
    table = uniform_bins(points)
    count = bin_count(points)
    radii = {"radius_x": radius_x, "radius_y": radius_y, "radius_t": radius_t, "points": points}
    parts = [_block_histograms(table[plane_codes(frames, plane, **radii)], blocks, count) for plane in PLANES]
    return np.concatenate([part.ravel() for part in parts]).astype(np.float32)
