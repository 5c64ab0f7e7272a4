"""Pictures of the 36 landmark regions on a clip: the apex face with its 68 landmarks and the regions they
make, and the same regions on the clip's flow grid, so a reader can check that the two crops are registered
(the composite ships its 28×28 flows and 224×224 apex faces separately; the Li et al. pipeline trusts that
they are the same crop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from microexp.data.images import read_image
from microexp.features import region_map
from microexp.inputs.descriptors import shipped_flow
from microexp.preprocess.faces import landmarks68
from microexp.preprocess.flow import flow_to_colour


def shipped_clip_regions(row: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A composite row's apex face, flow, landmarks and region maps, as the ``region_flow`` builder makes
    them: landmarks fitted on the apex face, scaled onto the flow's grid."""
    apex = read_image(row["apex_path"], mode="L", what=f"clip {row['clip_id']}")[..., 0]
    flow, _ = shipped_flow(row)
    points = landmarks68(apex, f"clip {row['clip_id']}", fallback="frame").landmarks
    scale = np.array([flow.shape[1] / apex.shape[1], flow.shape[0] / apex.shape[0]])
    on_flow = (points + 0.5) * scale - 0.5
    return {
        "apex": apex,
        "flow": flow,
        "apex_landmarks": points,
        "flow_landmarks": on_flow,
        "apex_regions": region_map(points, apex.shape),
        "flow_regions": region_map(on_flow, flow.shape[:2]),
    }


def _boundaries(regions: np.ndarray) -> np.ndarray:
    edge = np.zeros(regions.shape, bool)
    edge[:, 1:] |= regions[:, 1:] != regions[:, :-1]
    edge[1:, :] |= regions[1:, :] != regions[:-1, :]
    return edge


def plot_face_regions(clips: Sequence[tuple[str, Mapping[str, np.ndarray]]], title: str):
    """One row per clip: the apex face with landmarks and region outlines; the flow (colour wheel: hue is
    direction, saturation is speed) with the same landmarks and the outlines of the regions on its grid,
    magnified without smoothing so every flow pixel shows."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.4, 3.5 * len(clips) + 0.5))
    for r, (label, clip) in enumerate(clips):
        apex, flow = clip["apex"], clip["flow"]
        apex_picture = np.repeat(apex[..., None], 3, axis=2).astype(np.float64) / 255
        apex_picture[_boundaries(clip["apex_regions"])] = (1.0, 0.85, 0.0)
        # the flow grid magnified by whole pixels, so its region outlines are thin lines between flow pixels
        factor = max(1, apex.shape[0] // flow.shape[0])
        block = np.ones((factor, factor), dtype=int)
        flow_picture = np.kron(flow_to_colour(flow), block[..., None]).astype(np.float64) / 255
        flow_picture[_boundaries(np.kron(clip["flow_regions"], block))] = (0.0, 0.0, 0.0)
        panels = [
            (apex_picture, clip["apex_landmarks"], f"apex face {apex.shape[1]}×{apex.shape[0]}"),
            (flow_picture, (clip["flow_landmarks"] + 0.5) * factor - 0.5,
             f"onset→apex flow {flow.shape[1]}×{flow.shape[0]}, magnified {factor}×"),
        ]
        for c, (picture, points, caption) in enumerate(panels):
            axes = figure.add_subplot(len(clips), 2, 2 * r + c + 1)
            axes.imshow(picture, interpolation="nearest")
            axes.scatter(points[:, 0], points[:, 1], s=4, c="red")
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(caption, fontsize=8)
            if c == 0:
                axes.set_ylabel(label, fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
