"""Temporal normalisation, motion magnification and apex spotting on generated clips of known motion."""

import cv2
import numpy as np
import pytest

from microexp.errors import ConfigError, DataError
from microexp.preprocess.interpolate import resample
from microexp.preprocess.magnify import magnify
from microexp.preprocess.spotting import spot_apex


def blob_frame(dx: float, size: int = 96, sigma: float = 8.0) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(float)
    blob = np.exp(-((x - size / 2 - dx) ** 2 + (y - size / 2) ** 2) / (2 * sigma**2))
    return np.rint(128 + 80 * blob).astype(np.uint8)


def test_linear_resampling_hits_the_ends_and_blends_between():
    frames = np.stack([np.full((2, 3), v, np.float32) for v in (0, 10, 40)])
    out = resample(frames, 5, "linear")
    assert out.shape == (5, 2, 3)
    assert out[:, 0, 0].tolist() == pytest.approx([0, 5, 10, 25, 40])


def test_tim_reproduces_the_input_frames_and_interpolates_smoothly():
    rng = np.random.default_rng(1)
    frames = rng.uniform(0, 255, (7, 4, 5)).astype(np.float32)
    assert np.allclose(resample(frames, 7, "tim"), frames, atol=1e-3)
    ramp = np.stack([np.full((2, 2), 10.0 * i, np.float32) for i in range(6)])
    longer = resample(ramp, 11, "tim")[:, 0, 0]
    assert longer[0] == pytest.approx(0, abs=1e-3) and longer[-1] == pytest.approx(50, abs=1e-3)
    assert np.all(np.diff(longer) > 0)  # a steady motion stays monotone


def test_resampling_refuses_bad_requests():
    with pytest.raises(ConfigError, match="interpolation 'cubic' is unknown"):
        resample(np.zeros((3, 2, 2)), 5, "cubic")
    with pytest.raises(DataError, match="at least 2 input frames"):
        resample(np.zeros((1, 2, 2)), 5)


def shift_amplitude(frames: np.ndarray) -> float:
    reference = frames[0].astype(np.float64)
    shifts = [cv2.phaseCorrelate(reference, frame.astype(np.float64))[0][0] for frame in frames]
    return float(np.ptp(shifts))


def test_magnification_grows_in_band_motion_and_leaves_other_motion():
    fps, count = 200, 40
    times = np.arange(count) / fps

    def clip(hz):
        return np.stack([blob_frame(0.3 * np.sin(2 * np.pi * hz * t)) for t in times])

    slow, fast = clip(10), clip(80)
    assert shift_amplitude(magnify(slow, fps, 5, 15, factor=10)) > 2.5 * shift_amplitude(slow)
    assert shift_amplitude(magnify(fast, fps, 5, 15, factor=10)) == pytest.approx(
        shift_amplitude(fast), rel=0.05
    )
    with pytest.raises(ConfigError, match="pass band 5–150 Hz"):
        magnify(slow, fps, 5, 150)


def sliding_patch(offsets: list[int]) -> np.ndarray:
    """A textured patch (a 'mouth corner') on a smooth face, shifted right by ``offsets`` pixels frame by frame."""
    rng = np.random.default_rng(3)
    patch = cv2.GaussianBlur(rng.integers(0, 255, (24, 24)).astype(np.uint8), (0, 0), 1.0)
    frames = []
    for dx in offsets:
        frame = blob_frame(0, sigma=30)
        frame[40:64, 30 + dx : 54 + dx] = patch
        frames.append(frame)
    return np.stack(frames)


@pytest.mark.parametrize(
    ("method", "name"), [("flow", "flow-magnitude:dis"), ("feature", "feature-difference:lbp-chi2")]
)
def test_apex_is_the_frame_of_largest_motion(method, name):
    """A textured patch (a 'mouth corner') on a smooth face slides out and back, furthest at frame 5."""
    offsets = [0, 1, 1, 2, 3, 5, 4, 2, 1, 0]
    frames = sliding_patch(offsets)
    spot = spot_apex(frames, method)
    assert spot.index == 5 and spot.method == name
    assert spot.scores[0] == pytest.approx(0) and len(spot.scores) == 10


def test_strided_apex_search_finds_a_sharp_peak_between_its_samples():
    """Sampled every 4th frame, a broad movement (frames 11–15, largest 4 px) outscores a sharp one whose
    6 px top (frame 7) falls between samples: refining around the best few samples, not only the best, finds
    the frame an every-frame search finds, with fewer frames scored."""
    offsets = [0, 0, 1, 1, 1, 2, 4, 6, 4, 2, 1, 2, 3, 4, 4, 3, 1] + [0] * 12  # then still: left unscored
    frames = sliding_patch(offsets)
    every = spot_apex(frames, "flow")
    strided = spot_apex(frames, "flow", stride=4)
    assert every.index == strided.index == 7
    assert np.isnan(strided.scores[18:]).sum() == 9 and not np.isnan(strided.scores[:17]).any()
    assert strided.scores[13] > strided.scores[5]  # the broad movement led the coarse pass
    with pytest.raises(ConfigError, match="stride must be at least 1"):
        spot_apex(frames, "flow", stride=0)
