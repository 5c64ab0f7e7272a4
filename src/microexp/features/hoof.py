"""HOOF, the histogram of oriented optical flow (Chaudhry et al., CVPR 2009), per spatial block of a clip.

Each vector votes with its magnitude into the bin of its angle from the horizontal, folded about the
vertical axis (a vector and its mirror image vote alike, so the descriptor does not care which way the
face looks): ``bins`` bins over [-90°, 90°], up positive. A clip's flows (onset→frame, or consecutive
frames) are summed per block, and each block's histogram normalised to sum 1 (all zero where nothing moves).

Layout: block (``blocks × blocks``, row-major), then bin; length blocks² · bins.
"""

from __future__ import annotations

import numpy as np

from microexp.errors import DataError
from microexp.features.flow_stats import check_flow


def hoof(flows: np.ndarray | list[np.ndarray], *, blocks: int = 4, bins: int = 8) -> np.ndarray:
    """HOOF of one flow (H, W, 2) or of a clip's flows (N, H, W, 2): (blocks² · bins,) float32."""
    flows = np.asarray(flows, dtype=np.float64)
    if flows.ndim == 3:
        flows = flows[None]
    if flows.ndim != 4 or len(flows) == 0:
        raise DataError(f"HOOF reads flows (N, H, W, 2), got an array of shape {flows.shape}")
    for flow in flows:
        check_flow(flow)
    _, height, width, _ = flows.shape
    u, v = flows[..., 0], flows[..., 1]
    angle = np.arctan2(-v, np.abs(u))  # [-pi/2, pi/2]: up is positive, left and right fold together
    which = np.minimum(np.floor((angle + np.pi / 2) / np.pi * bins).astype(np.int64), bins - 1)
    rows = np.minimum(np.arange(height) * blocks // height, blocks - 1)
    cols = np.minimum(np.arange(width) * blocks // width, blocks - 1)
    block = np.broadcast_to(rows[:, None] * blocks + cols[None, :], which.shape)
    histogram = np.bincount(
        (block * bins + which).ravel(), weights=np.hypot(u, v).ravel(), minlength=blocks * blocks * bins
    ).reshape(blocks * blocks, bins)
    totals = histogram.sum(axis=1, keepdims=True)
    return (histogram / np.where(totals > 0, totals, 1)).ravel().astype(np.float32)
