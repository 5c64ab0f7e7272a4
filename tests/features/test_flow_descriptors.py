"""HOOF, MDMO and the region statistics on flows whose motion is known; the 36 regions on a face."""

import numpy as np
import pytest

from microexp.errors import DataError
from microexp.features import (
    REGION_COUNT,
    REGION_NAMES,
    face_mask,
    hoof,
    main_directions,
    mdmo,
    orientation_bins,
    region_anchors,
    region_flow_statistics,
    region_map,
)


def _ring(count, centre, radii):
    """Points on an ellipse from its left end over the top, as iBUG numbers eyes and lips."""
    angle = np.pi - np.arange(count) * 2 * np.pi / count
    return np.stack([centre[0] + radii[0] * np.cos(angle), centre[1] - radii[1] * np.sin(angle)], axis=1)


def _face(scale=1.0, shift=(0.0, 0.0)):
    """A symmetric 68-point face (iBUG numbering) in a 128x128 picture."""
    t = np.linspace(np.pi, 2 * np.pi, 17)
    jaw = np.stack([64 + 48 * np.cos(t), 60 - 55 * np.sin(t)], axis=1)
    left_brow = np.stack([np.linspace(28, 56, 5), np.full(5, 42.0)], axis=1)
    right_brow = np.stack([128 - left_brow[::-1, 0], left_brow[::-1, 1]], axis=1)
    nose_x = np.r_[np.full(4, 64.0), np.linspace(54, 74, 5)]
    nose = np.stack([nose_x, np.r_[np.linspace(52, 76, 4), np.full(5, 82.0)]], axis=1)
    left_eye = _ring(6, (42, 56), (12, 4))
    right_eye = left_eye[[3, 2, 1, 0, 5, 4]] * (-1, 1) + (128, 0)
    mouth = np.r_[_ring(12, (64, 96), (16, 6)), _ring(8, (64, 96), (10, 3))]
    points = np.r_[jaw, left_brow, right_brow, nose, left_eye, right_eye, mouth]
    assert points.shape == (68, 2)
    return (points - 64) * scale + 64 + np.array(shift)


def test_every_region_gets_pixels_and_regions_stay_inside_the_face():
    regions = region_map(_face(), (128, 128))
    assert len(REGION_NAMES) == REGION_COUNT == 36
    assert set(np.unique(regions)) == {-1, *range(36)}
    assert not face_mask(_face(), (128, 128))[5, 5]  # a corner is background


def test_regions_follow_the_landmarks_onto_a_smaller_grid():
    big = region_map(_face(), (128, 128))
    small = region_map((_face() + 0.5) * 28 / 128 - 0.5, (28, 28))
    # the region under the left eye's lower lid (a big region) is in the same place on both grids
    lid = REGION_NAMES.index("left_eyelid_lower")
    rows, cols = np.nonzero(big == lid)
    small_rows, small_cols = np.nonzero(small == lid)
    assert abs(rows.mean() * 28 / 128 - small_rows.mean()) < 1.5
    assert abs(cols.mean() * 28 / 128 - small_cols.mean()) < 1.5


def test_left_and_right_anchors_mirror_each_other_on_a_symmetric_face():
    anchors = region_anchors(_face())
    for name in REGION_NAMES:
        if name.startswith("left_"):
            left, right = anchors[REGION_NAMES.index(name)], anchors[REGION_NAMES.index("right_" + name[5:])]
            np.testing.assert_allclose([left[0] + right[0], left[1]], [128, right[1]], atol=1e-6)


def test_wrong_landmarks_are_refused():
    with pytest.raises(DataError, match="68 finite landmarks"):
        region_map(np.zeros((5, 2)), (28, 28))


def test_orientation_bins_read_angles_as_the_picture_shows_them():
    u = np.array([1.0, 0.0, -1.0, 0.0])
    v = np.array([0.0, -1.0, 0.0, 1.0])  # right, up (v grows downwards), left, down
    np.testing.assert_array_equal(orientation_bins(u, v, 8), [0, 2, 4, 6])


@pytest.mark.parametrize("u, v, angle", [(1.0, 0.0, 0.0), (0.0, -2.0, np.pi / 2), (-1.5, 1.5, -3 * np.pi / 4)])
def test_mdmo_main_direction_of_a_uniform_motion(u, v, angle):
    flow = np.zeros((128, 128, 2))
    flow[..., 0], flow[..., 1] = u, v
    regions = region_map(_face(), (128, 128))
    np.testing.assert_allclose(main_directions(flow, regions), np.tile([u, v], (36, 1)))
    descriptor = mdmo(np.stack([flow, flow]), regions)
    np.testing.assert_allclose(descriptor[:36], 1.0)  # every region moves alike: all at the largest
    np.testing.assert_allclose(descriptor[36:], angle, atol=1e-6)


def test_mdmo_main_direction_ignores_a_minority_moving_otherwise():
    rng = np.random.default_rng(0)
    flow = np.zeros((128, 128, 2))
    flow[..., 1] = -1.0  # up
    noisy = rng.random((128, 128)) < 0.3
    flow[noisy] = (3.0, 0.0)  # a third of the pixels jump right, three times as far
    descriptor = mdmo(flow, region_map(_face(), (128, 128)))
    np.testing.assert_allclose(descriptor[36:], np.pi / 2, atol=1e-6)


def test_hoof_folds_left_and_right_and_counts_magnitude():
    right = np.zeros((16, 16, 2))
    right[..., 0] = 2.0
    left = -right
    np.testing.assert_allclose(hoof(right, blocks=1), hoof(left, blocks=1))
    up = np.zeros((16, 16, 2))
    up[..., 1] = -1.0
    histogram = hoof(up, blocks=1, bins=8)
    assert histogram[7] == 1.0 and histogram.sum() == pytest.approx(1.0)
    still = hoof(np.zeros((16, 16, 2)), blocks=2)
    assert still.shape == (32,) and not still.any()


def test_region_statistics_of_a_known_flow():
    regions = region_map(_face(), (128, 128))
    flow = np.zeros((128, 128, 2))
    flow[..., 0] = 3.0
    stats = region_flow_statistics(flow, regions).reshape(36, 12)
    np.testing.assert_allclose(stats[:, 0], 3.0)  # mean u
    np.testing.assert_allclose(stats[:, 1], 0.0)  # mean v
    np.testing.assert_allclose(stats[:, 2], 3.0)  # mean magnitude
    np.testing.assert_allclose(stats[:, 3], 1.0)  # all the weight in the "right" bin
    np.testing.assert_allclose(stats[:, 11], 0.0)  # a uniform translation has no strain
    sheared = flow.copy()
    sheared[..., 0] = np.linspace(0, 5, 128)[None, :]  # stretching along x
    assert (region_flow_statistics(sheared, regions).reshape(36, 12)[:, 11] > 0).all()
