"""Statistics of an optical flow (H, W, 2: u right, v down, in pixels) over the face's regions: the
per-region flow features the Li et al. pipeline classifies, and the orientation histogram HOOF and MDMO
build on.

Layout of :func:`region_flow_statistics`, per region (in the order of
:data:`microexp.features.regions.REGION_NAMES`): mean u, mean v, mean magnitude, the magnitude-weighted
orientation histogram (``bins`` bins over the full circle, the first centred on +u, normalised to sum 1,
all zero where nothing moves), and the strain energy (mean squared optical strain). 4 + bins values a
region; a region with no pixel on the grid gives zeros.
"""

from __future__ import annotations

import numpy as np

from microexp.errors import DataError
from microexp.features.regions import REGION_COUNT
from microexp.preprocess.flow import optical_strain


def check_flow(flow: np.ndarray) -> np.ndarray:
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 2 or not np.isfinite(flow).all():
        raise DataError(f"a flow is a finite (H, W, 2) array of u, v, got shape {flow.shape}")
    return flow


def orientation_bins(u: np.ndarray, v: np.ndarray, bins: int) -> np.ndarray:
    """The bin of each vector's direction over the full circle, bin 0 centred on +u (to the right).
    Angles are as the picture shows them: v grows downwards, so a vector pointing up is at 90 degrees."""
    angle = np.arctan2(-v, u)
    return np.floor(angle / (2 * np.pi) * bins + 0.5).astype(np.int64) % bins


def region_flow_statistics(
    flow: np.ndarray, regions: np.ndarray, *, bins: int = 8, strain: np.ndarray | None = None
) -> np.ndarray:
    """(36 · (4 + bins),) float32 statistics of ``flow`` in each region of ``regions`` (H, W; -1 outside
    the face, see :func:`~microexp.features.regions.region_map`). ``strain``: the strain magnitude when the
    flow's is known better than its finite differences (a database's own strain channel)."""
    flow = check_flow(flow)
    if regions.shape != flow.shape[:2]:
        raise DataError(f"the region map {regions.shape} and the flow {flow.shape[:2]} differ in size")
    u, v = flow[..., 0].ravel(), flow[..., 1].ravel()
    magnitude = np.hypot(u, v)
    strain = np.asarray(optical_strain(flow) if strain is None else strain, dtype=np.float64).ravel()
    labels = regions.ravel()
    inside = labels >= 0
    labels, u, v, magnitude, strain = labels[inside], u[inside], v[inside], magnitude[inside], strain[inside]
    pixels = np.bincount(labels, minlength=REGION_COUNT).astype(np.float64)
    per_pixel = np.maximum(pixels, 1)

    def mean(values):
        return np.bincount(labels, weights=values, minlength=REGION_COUNT) / per_pixel

    histogram = np.bincount(
        labels * bins + orientation_bins(u, v, bins), weights=magnitude, minlength=REGION_COUNT * bins
    ).reshape(REGION_COUNT, bins)
    histogram = histogram / np.where(histogram.sum(axis=1, keepdims=True) > 0, histogram.sum(axis=1, keepdims=True), 1)
    columns = [mean(u)[:, None], mean(v)[:, None], mean(magnitude)[:, None], histogram, mean(strain**2)[:, None]]
    return np.concatenate(columns, axis=1).ravel().astype(np.float32)
