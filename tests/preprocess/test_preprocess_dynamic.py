"""Approximate rank pooling: the weights and the dynamic image of clips whose change is known."""

import numpy as np
import pytest

from microexp.errors import DataError
from microexp.preprocess.dynamic import dynamic_image, rank_pooling_weights, to_unit_range


def test_weights_are_bilens_closed_form():
    np.testing.assert_allclose(rank_pooling_weights(3), [-4 / 3, 2 / 3, 2 / 3])
    for length in (2, 8, 31):
        weights = rank_pooling_weights(length)
        assert abs(weights.sum()) < 1e-9 and np.dot(weights, np.arange(length)) > 0
        signs = np.sign(weights)
        assert signs[0] < 0 and signs[-1] > 0 and np.count_nonzero(np.diff(signs)) == 1  # early -, late +
    with pytest.raises(DataError, match="at least one frame"):
        rank_pooling_weights(0)


def test_a_linear_brightness_rise_gives_its_slope_map_with_the_right_sign():
    # left half brightens, right half darkens, twice as fast, on a textured still background
    slope = np.ones((16, 20))
    slope[:, 10:] = -2.0
    background = np.random.default_rng(0).uniform(50, 200, (16, 20))
    frames = np.stack([background + 3.0 * t * slope for t in range(8)])
    image = dynamic_image(frames)
    assert image.shape == (16, 20)
    assert np.all(image[:, :10] > 0) and np.all(image[:, 10:] < 0)
    gain = 3.0 * float(np.dot(rank_pooling_weights(8), np.arange(8)))
    np.testing.assert_allclose(image, gain * slope, rtol=1e-9)  # the background cancels exactly


def test_a_still_clip_is_zero_and_shows_mid_grey():
    still = np.repeat(np.random.default_rng(1).uniform(0, 255, (1, 12, 12)), 6, axis=0)
    np.testing.assert_allclose(dynamic_image(still), 0.0, atol=1e-9)
    np.testing.assert_array_equal(to_unit_range(dynamic_image(still) * 0), np.full((12, 12), 0.5))


def test_reversing_a_clip_negates_its_dynamic_image_only_when_the_weights_are_antisymmetric():
    frames = np.random.default_rng(2).uniform(0, 255, (5, 6, 6))
    forward, backward = dynamic_image(frames), dynamic_image(frames[::-1])
    assert not np.allclose(forward, backward)
    two = np.random.default_rng(3).uniform(0, 255, (2, 6, 6))
    np.testing.assert_allclose(dynamic_image(two[::-1]), -dynamic_image(two))
