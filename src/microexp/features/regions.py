"""The face divided into 36 regions by its 68 landmarks (iBUG numbering, image pixels, x right, y down).

MDMO (Liu et al., IEEE TAC 2016) partitions the face into 36 regions of interest laid out on the action
units; its exact vertex lists are drawn on a 66-point model and not distributed. Here the same idea is made
explicit and computable on any grid: 36 anchors placed by the landmarks where the action units move the
skin (brows and the forehead above them, eye corners and lids, cheeks, nose wings, mouth corners, lips,
jaw, and four points on the midline), symmetric left and right; every pixel of the face (the hull of the
jaw line and a forehead band of half the brow-to-nose-tip height) belongs to the anchor nearest to it. The
regions follow the face wherever the landmarks put it, so they work on a 28×28 flow and on a 224×224 face
alike once the landmarks are in that grid's pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from microexp.errors import DataError

# (name, how its anchor is made from the 68 points: a landmark, the mean of several, or a landmark moved up
# by a fraction of the brow-to-nose-tip height, for the forehead); image-left side first, then its mirror
_SIDE = (
    ("temple", (0, 17)),
    ("brow_outer", (17,)),
    ("brow_middle", (19,)),
    ("brow_inner", (21,)),
    ("forehead_outer", (18,), 0.35),
    ("forehead_inner", (20,), 0.35),
    ("eye_outer", (36,)),
    ("eye_inner", (39,)),
    ("eyelid_lower", (40, 41)),
    ("cheek_upper", (41, 31, 2)),
    ("cheek", (2, 3, 31, 48)),
    ("nose_wing", (31,)),
    ("mouth_corner", (48,)),
    ("lip_upper", (50,)),
    ("lip_lower", (58,)),
    ("jaw", (4, 5, 48)),
)
_MIRROR = {0: 16, 17: 26, 18: 25, 19: 24, 20: 23, 21: 22, 36: 45, 39: 42, 40: 47, 41: 46, 31: 35, 2: 14, 3: 13,
           4: 12, 5: 11, 48: 54, 50: 52, 58: 56}
_MIDLINE = (
    ("glabella", (21, 22), 0.15),
    ("nose_bridge", (28,)),
    ("nose_tip", (30, 33)),
    ("chin", (8, 57)),
)


def _parts():
    left = [(f"left_{entry[0]}", *entry[1:]) for entry in _SIDE]
    right = [(f"right_{entry[0]}", tuple(_MIRROR[i] for i in entry[1]), *entry[2:]) for entry in _SIDE]
    return left + right + list(_MIDLINE)


REGION_NAMES = tuple(part[0] for part in _parts())  # "left" is the image's left (the person's right)
REGION_COUNT = len(REGION_NAMES)


def _check(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise DataError(f"face regions need 68 finite landmarks (x, y), got an array of shape {points.shape}")
    return points


def _lift(points: np.ndarray) -> float:
    """The brow-to-nose-tip height: the face's own unit for moving anchors up onto the forehead."""
    return float(points[30, 1] - points[17:27, 1].mean())


def region_anchors(landmarks: np.ndarray) -> np.ndarray:
    """(36, 2) anchor points, in the order of :data:`REGION_NAMES`."""
    points = _check(landmarks)
    lift = _lift(points)
    anchors = []
    for part in _parts():
        anchor = points[list(part[1])].mean(axis=0)
        if len(part) == 3:
            anchor = anchor - (0.0, part[2] * lift)
        anchors.append(anchor)
    return np.array(anchors)


def face_mask(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the hull of the jaw line and the brows raised by half the brow-to-nose-tip height."""
    points = _check(landmarks)
    forehead = points[17:27] - (0.0, 0.5 * _lift(points))
    hull = cv2.convexHull(np.concatenate([points[:17], forehead]).astype(np.float32))
    mask = np.zeros(shape, dtype=np.uint8)
    # subpixel corners (shift 4) so a 28x28 grid gets the hull's true outline, not one rounded to pixels
    cv2.fillConvexPoly(mask, np.round((hull - 0.5) * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def region_map(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) int: the region of every pixel (index into :data:`REGION_NAMES`), -1 outside the face.
    Pixel (row, col) is the point (col, row): pixel centres, the convention landmarks use."""
    anchors = region_anchors(landmarks)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    pixels = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(np.float64)
    nearest = np.argmin(((pixels[:, None, :] - anchors[None]) ** 2).sum(axis=2), axis=1).reshape(shape)
    return np.where(face_mask(landmarks, shape), nearest, -1)
