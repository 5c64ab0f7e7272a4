"""MDMO, the main directional mean optical flow (Liu et al., IEEE TAC 2016), over the 36 face regions of
:mod:`microexp.features.regions`.

For each flow of a clip (onset→frame) and each region: the region's vectors are binned by direction into 8
bins over the full circle; the bin holding most vectors is the main direction, and the mean of the vectors in
it is the region's main directional mean flow. A clip's main vectors are averaged over its flows (as
vectors, so opposite directions cancel), turned into magnitude ρ and angle θ (radians, up positive), and the
magnitudes divided by the largest of the clip's regions (the paper's normalisation: the pattern of motion
over the face, not its strength).

Layout: ρ of the 36 regions, then θ of the 36 regions (72 values, the paper's 36 × 2).
"""

from __future__ import annotations

import numpy as np

from microexp.errors import DataError
from microexp.features.flow_stats import check_flow, orientation_bins
from microexp.features.regions import REGION_COUNT

BINS = 8


def main_directions(flow: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """(36, 2) mean (u, v) of each region's vectors in its most populated direction bin; zeros for a
    region with no pixel on the grid."""
    flow = check_flow(flow)
    if regions.shape != flow.shape[:2]:
        raise DataError(f"the region map {regions.shape} and the flow {flow.shape[:2]} differ in size")
    labels = regions.ravel()
    inside = labels >= 0
    labels = labels[inside]
    u, v = flow[..., 0].ravel()[inside], flow[..., 1].ravel()[inside]
    cell = labels * BINS + orientation_bins(u, v, BINS)
    counts = np.bincount(cell, minlength=REGION_COUNT * BINS).reshape(REGION_COUNT, BINS)
    main = np.argmax(counts, axis=1)  # ties go to the lower bin: deterministic
    chosen = cell == labels * BINS + main[labels]
    number = np.maximum(np.bincount(labels[chosen], minlength=REGION_COUNT), 1)
    mean_u = np.bincount(labels[chosen], weights=u[chosen], minlength=REGION_COUNT) / number
    mean_v = np.bincount(labels[chosen], weights=v[chosen], minlength=REGION_COUNT) / number
    return np.stack([mean_u, mean_v], axis=1)


def mdmo(flows: np.ndarray | list[np.ndarray], regions: np.ndarray) -> np.ndarray:
    """MDMO of a clip's flows (N, H, W, 2) (or one flow) on one region map: (72,) float32."""
    flows = np.asarray(flows, dtype=np.float64)
    if flows.ndim == 3:
        flows = flows[None]
    if flows.ndim != 4 or len(flows) == 0:
        raise DataError(f"MDMO reads flows (N, H, W, 2), got an array of shape {flows.shape}")
    mean = np.mean([main_directions(flow, regions) for flow in flows], axis=0)
    rho = np.hypot(mean[:, 0], mean[:, 1])
    theta = np.arctan2(-mean[:, 1], mean[:, 0])
    rho = rho / rho.max() if rho.max() > 0 else rho
    return np.concatenate([rho, theta]).astype(np.float32)
