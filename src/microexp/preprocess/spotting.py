"""Apex spotting for clips annotated without an apex (SMIC): the frame that moved most from the onset.

Two measures, each named in the result so a table of spotted apexes says how it was made:

- ``flow``: mean optical-flow magnitude from the onset frame to each frame (DIS: fast and, for
  ranking frames, as good as TV-L1).
- ``feature``: the feature-difference measure of the spotting literature: uniform LBP histograms
  over a grid of blocks, chi-squared distance of each frame's histograms to the onset frame's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from microexp.errors import ConfigError, DataError
from microexp.preprocess.flow import DISParams, compute_flow

SPOTTING_METHODS = ("flow", "feature")


@dataclass(frozen=True)
class ApexSpot:
    index: int  # position in the frames given; 0 is the onset
    method: str  # "annotation", "flow-magnitude:dis" or "feature-difference:lbp-chi2"
    scores: np.ndarray | None = field(default=None, repr=False)  # per frame, onset = 0


def spot_apex(frames: np.ndarray, method: str = "flow", blocks: int = 6) -> ApexSpot:
    """Apex of aligned grey frames (T, H, W), the first being the onset."""
    if method not in SPOTTING_METHODS:
        raise ConfigError(f"apex spotting method {method!r} is unknown; choose one of {SPOTTING_METHODS}")
    if len(frames) < 2:
        raise DataError(f"apex spotting needs at least 2 frames, got {len(frames)}")
    if method == "flow":
        scores = [0.0] + [
            float(np.linalg.norm(compute_flow(frames[0], frame, "dis", DISParams()), axis=2).mean())
            for frame in frames[1:]
        ]
        name = "flow-magnitude:dis"
    else:
        onset = _lbp_histograms(frames[0], blocks)
        scores = [_chi_squared(onset, _lbp_histograms(frame, blocks)) for frame in frames]
        name = "feature-difference:lbp-chi2"
    scores = np.asarray(scores)
    return ApexSpot(int(np.argmax(scores)), name, scores)


def _lbp_histograms(frame: np.ndarray, blocks: int) -> np.ndarray:
    from skimage.feature import local_binary_pattern

    points = 8
    codes = local_binary_pattern(frame, points, 1, method="uniform")  # values 0 .. points + 1
    height, width = codes.shape
    histograms = []
    for rows in np.array_split(np.arange(height), blocks):
        for cols in np.array_split(np.arange(width), blocks):
            block = codes[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            counts = np.bincount(block.astype(int).ravel(), minlength=points + 2)
            histograms.append(counts / counts.sum())
    return np.array(histograms)


def _chi_squared(a: np.ndarray, b: np.ndarray) -> float:
    total = a + b
    return float(np.sum(np.where(total > 0, (a - b) ** 2 / np.where(total > 0, total, 1), 0.0)))
