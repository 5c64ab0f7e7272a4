"""One similarity transform per clip: exact on the eyes, and consecutive aligned crops of real footage
differ by sub-pixel motion only."""

import cv2
import numpy as np
import pytest

from conftest import shared_path
from microexp.errors import ConfigError
from microexp.preprocess.align import (
    EYE_LEFT,
    EYE_RIGHT,
    align_frames,
    alignment_matrix,
    similarity_from_points,
    warp,
)
from microexp.preprocess.faces import Face, best_face, get_detector
from microexp.preprocess.video import list_frames, read_frames


def apply(matrix, point):
    return matrix[:, :2] @ np.asarray(point, float) + matrix[:, 2]


def test_similarity_maps_both_points_exactly_and_keeps_angles():
    matrix = similarity_from_points(
        np.array([10, 20]), np.array([50, 35]), np.array([3, 4]), np.array([9, 4])
    )
    assert np.allclose(apply(matrix, [10, 20]), [3, 4]) and np.allclose(apply(matrix, [50, 35]), [9, 4])
    linear = matrix[:, :2]
    assert np.allclose(linear @ linear.T, np.eye(2) * np.linalg.det(linear))  # rotation × scale


def test_eyes_land_on_the_template_of_the_crop():
    landmarks = np.zeros((5, 2))
    landmarks[0], landmarks[1] = [40.0, 60.0], [100.0, 70.0]  # tilted face
    face = Face(np.array([0, 0, 150, 150.0]), 1.0, landmarks, "mtcnn5")
    matrix = alignment_matrix(face, size=110, margin=0.05)
    inner = 110 / 1.1
    assert np.allclose(apply(matrix, landmarks[0]), 0.05 * inner + inner * np.array(EYE_LEFT))
    assert np.allclose(apply(matrix, landmarks[1]), 0.05 * inner + inner * np.array(EYE_RIGHT))
    with pytest.raises(ConfigError, match="margin 1.5 must be in"):
        alignment_matrix(face, size=110, margin=1.5)


def test_fallback_face_crops_the_frame_square():
    face = Face(np.array([0.0, 0.0, 99.0, 99.0]), 0.0, None, "frame")
    matrix = alignment_matrix(face, size=50, margin=0.0)
    assert np.allclose(apply(matrix, [49.5, 49.5]), [25, 25]) and np.isclose(matrix[0, 0], 50 / 99)


def test_strong_shrinking_averages_instead_of_aliasing():
    """A fine grating shrunk 10× must become flat grey, not a moiré pattern, and stay in place."""
    grating = ((np.indices((300, 300)).sum(axis=0) % 2) * 255).astype(np.uint8)
    grating[140:160, 140:160] = 255  # a white square marks the centre
    matrix = np.array([[0.1, 0.0, 0.0], [0.0, 0.1, 0.0]])
    small = warp(grating, matrix, 30)
    assert small[2:10, 2:10].std() < 3 and abs(small[2:10, 2:10].mean() - 127.5) < 3
    bright = np.argwhere(small > 180)
    assert np.allclose(bright.mean(axis=0), [14.5, 14.5], atol=0.6)


def test_aligned_consecutive_real_frames_differ_by_sub_pixel_motion():
    paths = list_frames(shared_path("frames", "casme2_sequence"))
    frames = read_frames(paths)
    face = best_face(frames[0], get_detector("dlib"), paths[0])
    crops = align_frames(frames, alignment_matrix(face, size=128), 128).astype(np.float64)
    assert crops.shape == (10, 128, 128)
    window = cv2.createHanningWindow((128, 128), cv2.CV_64F)
    for before, after in zip(crops[:-1], crops[1:], strict=True):
        (dx, dy), _ = cv2.phaseCorrelate(before, after, window)
        # one transform per clip: ≤ 0.12 px here; aligning each frame on its own landmarks
        # jitters 0.15–0.46 px
        assert np.hypot(dx, dy) < 0.25, f"consecutive crops shifted by ({dx:.2f}, {dy:.2f}) px"
