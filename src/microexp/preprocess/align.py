"""Face alignment: one similarity transform per clip, from the onset frame's eye centres; or, for frames
that already are a database's face crop, the whole frame resized to the square.

The databases align a clip once and crop every frame with the same transform, so the motion
between frames survives; aligning each frame on its own landmarks would add landmark jitter
(a pixel or more) that swamps a micro-expression. The output is a square crop of ``size`` pixels
in which the eyes sit at fixed places of an inner face square, surrounded by ``margin`` (a fraction
of the face square) on every side.
"""

from __future__ import annotations

import cv2
import numpy as np

from microexp.errors import ConfigError
from microexp.preprocess.faces import Face

# Eye centres in the face square (fractions of its side): 0.5 apart, on a line 0.35 from the top,
# which keeps brows, eyes, nose and mouth (the regions micro-expressions move) inside the square.
EYE_LEFT = (0.25, 0.35)
EYE_RIGHT = (0.75, 0.35)

# Where the face is in a frame: ``detect`` finds it and aligns on the eyes (any frame); ``as-cropped`` takes
# the frame whole, because it is the database's own face crop (CASME II Cropped/, SAMM and SMIC-HS crops).
GEOMETRIES = ("detect", "as-cropped")


def alignment_matrix(face: Face, size: int = 128, margin: float = 0.05) -> np.ndarray:
    """2×3 affine matrix mapping image pixels to the aligned ``size`` × ``size`` crop.

    With eye landmarks: the similarity (rotation, uniform scale, shift) that puts the eye centres
    on the template. Without them (the ``frame`` fallback): the box's enclosing square, unrotated.
    """
    if size < 8:
        raise ConfigError(f"crop size {size} is too small; use at least 8 pixels")
    if not 0 <= margin < 1:
        raise ConfigError(f"margin {margin} must be in [0, 1): a fraction of the face square")
    inner = size / (1 + 2 * margin)
    border = margin * inner
    if face.landmarks is None:
        x0, y0, x1, y1 = face.box
        side = max(x1 - x0, y1 - y0)
        scale = inner / side
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        shift = size / 2 - scale * centre
        return np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]])
    source_left, source_right = face.eye_centres()
    target_left = border + inner * np.array(EYE_LEFT)
    target_right = border + inner * np.array(EYE_RIGHT)
    return similarity_from_points(source_left, source_right, target_left, target_right)


def whole_frame_matrix(width: int, height: int, size: int) -> np.ndarray:
    """2×3 matrix that resizes a whole ``width`` × ``height`` frame to ``size`` × ``size``, the aspect not
    kept: how the MEGC2019 composite's authors made their square inputs from the databases' face crops.
    Pixel centres map to pixel centres, as ``cv2.resize`` maps them."""
    if size < 8:
        raise ConfigError(f"crop size {size} is too small; use at least 8 pixels")
    sx, sy = size / width, size / height
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])


def similarity_from_points(
    source_a: np.ndarray, source_b: np.ndarray, target_a: np.ndarray, target_b: np.ndarray
) -> np.ndarray:
    """The unique similarity taking source_a to target_a and source_b to target_b (2×3 matrix)."""
    source = complex(*(np.asarray(source_b) - source_a))
    target = complex(*(np.asarray(target_b) - target_a))
    if source == 0:
        raise ValueError("the two source points coincide; a similarity needs two distinct points")
    rotation_scale = target / source  # a complex number is exactly a 2-D rotation with scale
    a, b = rotation_scale.real, rotation_scale.imag
    linear = np.array([[a, -b], [b, a]])
    shift = np.asarray(target_a) - linear @ np.asarray(source_a)
    return np.hstack([linear, shift[:, None]])


def warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Apply an alignment matrix to one frame, giving a size × size crop.

    Bilinear warping samples, it does not average: shrinking a 300 px face to 28 px that way aliases.
    When the transform shrinks by more than 2, the frame is first area-downsampled so the warp itself
    shrinks by at most 2.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:
        factor = 2 * scale
        small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        # cv2.resize maps pixel centres as x_small = (x + 0.5) * fx - 0.5; fx and fy differ a little
        # from factor because sizes round to whole pixels
        fx = small.shape[1] / image.shape[1]
        fy = small.shape[0] / image.shape[0]
        linear = matrix[:, :2] @ np.diag([1 / fx, 1 / fy])
        shift = matrix[:, :2] @ np.array([0.5 / fx - 0.5, 0.5 / fy - 0.5]) + matrix[:, 2]
        image, matrix = small, np.hstack([linear, shift[:, None]])
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def align_frames(frames: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Every frame of a clip warped by the same matrix: (T, size, size[, 3])."""
    return np.stack([warp(frame, matrix, size) for frame in frames])
