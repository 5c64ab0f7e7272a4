"""LBP-TOP on clips whose patterns are known, and against scikit-image's LBP on one plane."""

import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from microexp.errors import DataError
from microexp.features import bin_count, lbp_top, plane_codes, uniform_bins


def _bin_of(code):
    return int(uniform_bins()[code])


def test_uniform_bins_number_the_58_uniform_patterns_then_one_shared_bin():
    table = uniform_bins(8)
    assert bin_count(8) == 59 and table.max() == 58
    assert len(set(table[table < 58].tolist())) == 58
    assert table[0] == 0 and table[255] == 57  # all-zero and all-one codes are uniform
    assert table[0b01010101] == 58  # eight transitions


def test_xy_codes_match_scikit_image_default_lbp():
    image = np.random.default_rng(0).integers(0, 256, (30, 40)).astype(np.float64)
    ours = plane_codes(np.stack([image] * 3), "xy")[0]
    theirs = local_binary_pattern(image.astype(np.uint8), 8, 1, "default").astype(int)[1:-1, 1:-1]
    np.testing.assert_array_equal(ours, theirs)


def test_constant_clip_puts_every_pixel_in_the_all_ones_bin():
    descriptor = lbp_top(np.full((6, 20, 20), 90, np.uint8), blocks=2).reshape(3, 4, 59)
    assert np.allclose(descriptor[..., _bin_of(255)], 1.0)


def test_static_horizontal_ramp_gives_its_known_pattern_in_each_plane():
    # brightness grows to the right and nothing moves: in XY and XT the right half of the circle (and the two
    # neighbours straight above and below, equal to the centre) are at or above it: bits 6, 7, 0, 1, 2 (199);
    # YT looks along y and t, where nothing changes: all ones
    ramp = np.tile(np.arange(24, dtype=np.uint8) * 10, (24, 1))
    descriptor = lbp_top(np.stack([ramp] * 7), blocks=1).reshape(3, 59)
    assert descriptor[0, _bin_of(0b11000111)] == 1.0
    assert descriptor[1, _bin_of(0b11000111)] == 1.0
    assert descriptor[2, _bin_of(255)] == 1.0


def test_moving_ramp_changes_only_the_temporal_planes():
    ramp = np.tile(np.arange(64) * 3.0, (32, 1))
    moving = np.stack([np.roll(ramp, -t, axis=1) for t in range(8)])  # brightness at x grows over time
    still = np.stack([ramp] * 8)
    a = lbp_top(moving[:, :, 4:28], blocks=1).reshape(3, 59)
    b = lbp_top(still[:, :, 4:28], blocks=1).reshape(3, 59)
    np.testing.assert_allclose(a[0], b[0])  # every frame looks the same
    assert not np.allclose(a[1], b[1]) and not np.allclose(a[2], b[2])


def test_layout_and_normalisation():
    clip = np.random.default_rng(1).integers(0, 256, (10, 40, 40)).astype(np.uint8)
    descriptor = lbp_top(clip, blocks=5, radius_t=2)
    assert descriptor.shape == (3 * 25 * 59,) and descriptor.dtype == np.float32
    np.testing.assert_allclose(descriptor.reshape(75, 59).sum(axis=1), 1.0, rtol=1e-5)


def test_clip_too_short_for_the_radius_is_refused():
    with pytest.raises(DataError, match="longer clip"):
        lbp_top(np.zeros((3, 20, 20), np.uint8), radius_t=2)
