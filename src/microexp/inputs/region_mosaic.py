"""HTNet's input: four facial areas of the onset→apex flow, cut around the eyes and the mouth corners and
tiled 2 x 2 into an image of the flow's size (Wang et al., "HTNet for micro-expression recognition",
Neurocomputing 2024). Built from what the composite ships: its 28×28 flow PNG (R = u, G = v, B = strain, 0-255)
and its 224×224 apex face.

Each area is a (side/2)-square block of the flow centred on a point: the left eye (the mean of the iBUG 68
points 36-41), the right eye (42-47), the left and the right mouth corner (48, 54), "left" meaning the
image's left. The blocks tile as [left eye | right eye] over [left corner | right corner], so mirroring the
mosaic left-right gives the mosaic of the mirrored face to within a pixel (an even block has no centre
cell), and the engine's flip augmentation stays meaningful.
Centres are rounded to the nearest cell and kept at least half a block from every border, so each block
lies inside the flow (HTNet keeps them in [7, 21] on the 28 grid, the same rule).

What differs from HTNet's code: it finds MTCNN's five points on the apex face shrunk to 28×28; here dlib's 68
points are fitted on the full 224×224 apex face in MTCNN's box (:func:`~microexp.preprocess.faces.landmarks68`,
the whole crop where no face is found) and scaled onto the flow's grid, as the shipped-flow descriptors do.
Its crops index rows by the points' x and columns by their y (the coordinates transposed); here rows follow y.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microexp.data.images import read_image
from microexp.errors import ConfigError
from microexp.inputs.descriptors import shipped_landmarks
from microexp.inputs.flow import ComputedFlow
from microexp.inputs.images import channels_first
from microexp.inputs.registry import Builder, register_builder

# iBUG 68-point indices of the four areas, in mosaic order (row by row)
AREA_POINTS = {
    "left eye": tuple(range(36, 42)),
    "right eye": tuple(range(42, 48)),
    "left mouth corner": (48,),
    "right mouth corner": (54,),
}


def area_centres(landmarks: np.ndarray) -> np.ndarray:
    """The four area centres (x, y), in mosaic order, from 68 landmarks (x, y)."""
    return np.stack([landmarks[list(points)].mean(axis=0) for points in AREA_POINTS.values()])


def region_mosaic(image: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The (H, W, C) mosaic of four (H/2, W/2) blocks of ``image`` centred on ``centres`` (x, y), tiled 2 x 2
    in their order."""
    height, width = image.shape[:2]
    if height % 2 or width % 2:
        raise ConfigError(f"a region mosaic needs an even-sided image, got {height}×{width}")
    block_h, block_w = height // 2, width // 2
    blocks = []
    for x, y in centres:
        # a block of even side spans centre - side/2 .. centre + side/2 - 1 (HTNet's [c-7, c+7) on 28)
        row = int(np.clip(np.rint(y), block_h // 2, height - (block_h - block_h // 2)))
        col = int(np.clip(np.rint(x), block_w // 2, width - (block_w - block_w // 2)))
        blocks.append(
            image[row - block_h // 2 : row - block_h // 2 + block_h, col - block_w // 2 : col - block_w // 2 + block_w]
        )
    return np.concatenate([np.concatenate(blocks[:2], axis=1), np.concatenate(blocks[2:], axis=1)], axis=0)


@register_builder
class ShippedRegionMosaic(Builder):
    name = "region_mosaic"
    kind = "flow"
    columns = ("flow_path",)
    ships_input = True
    fixed_settings = ComputedFlow.settings_used

    def applies(self, samples):
        return super().applies(samples) and "apex_path" in samples.columns and samples["apex_path"].notna().all()

    def check_shape(self, shape):
        super().check_shape(shape)
        if shape[0] > 3:
            raise ConfigError(f"region_mosaic has at most 3 channels (u, v, strain), got {shape}")

    def sources(self, row, settings):
        return [Path(row["flow_path"]), Path(row["apex_path"])]

    def build(self, row, shape, settings):
        flow = read_image(row["flow_path"], mode="RGB", what=f"clip {row['clip_id']}")
        if flow.shape[:2] != shape[1:]:
            raise ConfigError(
                f"clip {row['clip_id']}: region_mosaic cuts the shipped {flow.shape[0]}×{flow.shape[1]} flow as it "
                f"is; declare the input as ({shape[0]}, {flow.shape[0]}, {flow.shape[1]})"
            )
        points, info = shipped_landmarks(row, flow.shape[:2])
        centres = area_centres(points)
        info["area_centres"] = np.round(centres, 2).tolist()
        return channels_first(region_mosaic(flow, centres)[..., : shape[0]]), info
