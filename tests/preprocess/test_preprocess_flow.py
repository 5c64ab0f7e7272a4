"""Flow methods recover a known sub-pixel motion; strain is zero for translation and equals a stretch;
the output image formats are the composite's."""

import numpy as np
import pytest

from conftest import shared_path
from microexp.errors import ConfigError, UnreadableFileError
from microexp.preprocess.flow import (
    DISParams,
    TVL1Params,
    compute_flow,
    flow_features,
    flow_to_colour,
    normalise,
    optical_strain,
    read_flo,
)
from microexp.preprocess.video import read_frames


def textured_blob(shift=(0.0, 0.0), size=96) -> np.ndarray:
    """A textured disc of smooth sinusoids under a Gaussian envelope, rendered analytically at a
    sub-pixel shift (no resampling blur), so the true flow is exactly ``shift`` inside the blob."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:size, 0:size].astype(float)
    x, y = x - shift[0], y - shift[1]
    centre = size / 2
    texture = np.zeros_like(x)
    for _ in range(12):
        wavelength = rng.uniform(7, 20)
        angle, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        texture += np.sin(2 * np.pi / wavelength * (x * np.cos(angle) + y * np.sin(angle)) + phase)
    envelope = np.exp(-((x - centre) ** 2 + (y - centre) ** 2) / (2 * (size / 5) ** 2))
    return np.clip(128 + 25 * envelope * texture, 0, 255).round().astype(np.uint8)


SHIFT = (0.6, -0.35)
# median end-point error inside the blob, pixels
TOLERANCE = {"tvl1": 0.08, "farneback": 0.05, "dis": 0.1}


@pytest.mark.parametrize("method", ["tvl1", "farneback", "dis"])
def test_each_method_recovers_a_sub_pixel_shift(method):
    flow = compute_flow(textured_blob(), textured_blob(SHIFT), method)
    inside = flow[28:68, 28:68].reshape(-1, 2)
    error = np.linalg.norm(inside - np.array(SHIFT), axis=1)
    assert np.median(error) < TOLERANCE[method], f"{method}: median error {np.median(error):.3f} px"


def test_strain_of_a_translation_is_zero_and_of_a_stretch_is_the_stretch():
    y, x = np.mgrid[0:40, 0:50].astype(np.float32)
    translation = np.dstack([np.full_like(x, 1.3), np.full_like(x, -0.4)])
    assert np.abs(optical_strain(translation)).max() < 1e-6
    stretch = 0.03
    assert np.allclose(optical_strain(np.dstack([stretch * x, np.zeros_like(x)])), stretch, atol=1e-6)
    shear = np.dstack([0.02 * y, 0.02 * x])  # pure shear: ε_xy = 0.02, |ε| = sqrt(2)·0.02
    assert np.allclose(optical_strain(shear), np.sqrt(2) * 0.02, atol=1e-6)
    rotation = np.dstack([-0.01 * y, 0.01 * x])  # rigid rotation: no strain
    assert np.abs(optical_strain(rotation)).max() < 1e-6


def test_strain_of_measured_flow_follows_a_real_stretch():
    """A blob magnified by 2 % gives flow u ≈ 0.02·(x − centre): strain ≈ 0.02 in the blob."""
    import cv2

    base = textured_blob(size=128)
    matrix = cv2.getRotationMatrix2D((63.5, 63.5), 0, 1.02)
    stretched = cv2.warpAffine(
        base, matrix, (128, 128), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    strain = optical_strain(compute_flow(base, stretched, "tvl1"))
    # an isotropic stretch k has |ε| = sqrt(2)·k
    assert np.median(strain[44:84, 44:84]) == pytest.approx(np.sqrt(2) * 0.02, rel=0.15)


def test_features_have_the_requested_size_and_channels():
    flow = compute_flow(textured_blob(), textured_blob(SHIFT), "dis")
    features = flow_features(flow, size=28)
    assert features.shape == (28, 28, 3) and features.dtype == np.float32
    assert flow_features(flow, size=96).shape == (96, 96, 3)


def test_minmax_matches_the_composite_png_format():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(28, 28, 3)).astype(np.float32)
    image = normalise(features, "minmax")
    assert image.dtype == np.uint8 and image.shape == (28, 28, 3)
    assert (image.reshape(-1, 3).min(axis=0) == 0).all() and (image.reshape(-1, 3).max(axis=0) == 255).all()
    # order within each channel is kept: the brightest u pixel is the largest u
    assert np.unravel_index(image[..., 0].argmax(), (28, 28)) == np.unravel_index(
        features[..., 0].argmax(), (28, 28)
    )


def test_magnitude_keeps_absolute_values_comparable():
    features = np.zeros((4, 4, 3), np.float32)
    features[0, 0] = [1.0, -2.0, 0.1]
    image = normalise(features, "magnitude", flow_scale=2.0, strain_scale=0.2)
    assert image[1, 1].tolist() == [128, 128, 0]  # still: mid-grey u and v, no strain
    assert image[0, 0].tolist() == [191, 0, 128]
    with pytest.raises(ConfigError, match="normalisation 'zscore' is unknown"):
        normalise(features, "zscore")


def test_colour_wheel_picture_is_white_where_still_and_coloured_where_moving():
    flow = np.zeros((10, 10, 2), np.float32)
    flow[:5, :, 0] = 1.0  # rightwards
    picture = flow_to_colour(flow)
    assert picture[8, 8].tolist() == [255, 255, 255]
    assert picture[2, 2].tolist() != [255, 255, 255]
    assert flow_to_colour(-flow)[2, 2].tolist() != picture[2, 2].tolist()


def test_wrong_parameter_type_or_method_is_refused():
    a = textured_blob()
    with pytest.raises(ConfigError, match="'dis' takes DISParams, got TVL1Params"):
        compute_flow(a, a, "dis", TVL1Params())
    with pytest.raises(ConfigError, match="flow method 'raft' is unknown"):
        compute_flow(a, a, "raft")
    assert compute_flow(a, a, "dis", DISParams(preset=0)).shape == (96, 96, 2)


def test_tvl1_agrees_with_the_shipped_middlebury_flow_of_frames_1_to_2():
    """1.flo in the shared CASME II sequence is the flow from 001.jpg to 002.jpg."""
    folder = shared_path("frames", "casme2_sequence")
    reference = read_flo(folder / "1.flo")
    frames = read_frames([folder / "001.jpg", folder / "002.jpg"])
    flow = compute_flow(frames[0], frames[1], "tvl1")
    end_point_error = np.linalg.norm(flow - reference, axis=2).mean()
    assert end_point_error < 0.12, f"mean end-point error {end_point_error:.3f} px"
    assert np.corrcoef(flow.ravel(), reference.ravel())[0, 1] > 0.85


def test_a_file_that_is_not_flo_is_refused(tmp_path):
    path = tmp_path / "x.flo"
    path.write_bytes(b"JUNK" + b"\x00" * 20)
    with pytest.raises(UnreadableFileError, match="x.flo is not a Middlebury .flo file"):
        read_flo(path)
