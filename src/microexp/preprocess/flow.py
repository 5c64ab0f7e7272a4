"""Optical flow between two frames, optical strain, and the (u, v, strain) model input.

Flow is in pixels of the frames it was computed on (x right, y down): ``flow[..., 0]`` = u,
``flow[..., 1]`` = v, and ``frame_a(x, y) ≈ frame_b(x + u, y + v)``.

Methods: ``tvl1`` (default; OpenCV's dual TV-L1), ``farneback`` and ``dis``. Each has a frozen
parameter dataclass; passing the wrong one for a method is an error, not a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from microexp.errors import ConfigError, DataError, UnreadableFileError

METHODS = ("tvl1", "farneback", "dis")
NORMALISATIONS = ("minmax", "magnitude")


@dataclass(frozen=True)
class TVL1Params:
    """OpenCV ``DualTVL1OpticalFlow`` parameters.

    OpenCV's own defaults are ``nscales=5, warps=5, epsilon=0.01, scale_step=0.8``: about 300 ms
    for a 128 px face on one core. These defaults stop earlier (fewer scales, coarser step, looser
    tolerance) and take about 100 ms; on the aligned 128 px CASME II crops of frames 1→10 (mean
    motion 0.34 px) their flow is within 0.04 px mean end-point error of OpenCV's defaults
    (correlation 0.94; docs/PREPROCESS.md).
    """

    tau: float = 0.25
    lambda_: float = 0.15  # data term weight: higher follows the images more, smooths less
    theta: float = 0.3
    nscales: int = 3
    warps: int = 5
    epsilon: float = 0.02
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.5
    gamma: float = 0.0
    median_filtering: int = 5


@dataclass(frozen=True)
class FarnebackParams:
    """``cv2.calcOpticalFlowFarneback`` parameters (OpenCV's documented example values)."""

    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2


@dataclass(frozen=True)
class DISParams:
    """``cv2.DISOpticalFlow`` parameters; ``preset`` 0 ultrafast, 1 fast, 2 medium."""

    preset: int = 2
    finest_scale: int | None = None  # None keeps the preset's value
    patch_size: int | None = None
    patch_stride: int | None = None


PARAMS = {"tvl1": TVL1Params, "farneback": FarnebackParams, "dis": DISParams}


def compute_flow(
    frame_a: np.ndarray,
    frame_b: np.ndarray,
    method: str = "tvl1",
    params: TVL1Params | FarnebackParams | DISParams | None = None,
) -> np.ndarray:
    """Dense flow (H, W, 2) float32 from grey uint8 ``frame_a`` to ``frame_b``."""
    if method not in METHODS:
        raise ConfigError(f"flow method {method!r} is unknown; choose one of {METHODS}")
    params = PARAMS[method]() if params is None else params
    if not isinstance(params, PARAMS[method]):
        raise ConfigError(
            f"flow method {method!r} takes {PARAMS[method].__name__}, got {type(params).__name__}"
        )
    if frame_a.shape != frame_b.shape or frame_a.ndim != 2:
        raise DataError(
            f"flow needs two grey frames of one size, got shapes {frame_a.shape} and {frame_b.shape}"
        )
    if method == "tvl1":
        solver = cv2.optflow.DualTVL1OpticalFlow_create(
            tau=params.tau,
            lambda_=params.lambda_,
            theta=params.theta,
            nscales=params.nscales,
            warps=params.warps,
            epsilon=params.epsilon,
            innnerIterations=params.inner_iterations,  # sic: OpenCV's spelling
            outerIterations=params.outer_iterations,
            scaleStep=params.scale_step,
            gamma=params.gamma,
            medianFiltering=params.median_filtering,
        )
        return solver.calc(frame_a, frame_b, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(
            frame_a,
            frame_b,
            None,
            params.pyr_scale,
            params.levels,
            params.winsize,
            params.iterations,
            params.poly_n,
            params.poly_sigma,
            0,
        )
    solver = cv2.DISOpticalFlow_create(params.preset)
    if params.finest_scale is not None:
        solver.setFinestScale(params.finest_scale)
    if params.patch_size is not None:
        solver.setPatchSize(params.patch_size)
    if params.patch_stride is not None:
        solver.setPatchStride(params.patch_stride)
    return solver.calc(frame_a, frame_b, None)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Magnitude of the infinitesimal strain tensor ε = (∇w + ∇wᵀ) / 2 of a flow w = (u, v).

    |ε| = sqrt(u_x² + v_y² + 2·((u_y + v_x) / 2)²), with central differences. A translation has zero
    strain; a uniform stretch u = k·x has strain k; a rotation has zero strain too.
    """
    u_y, u_x = np.gradient(flow[..., 0])
    v_y, v_x = np.gradient(flow[..., 1])
    shear = 0.5 * (u_y + v_x)
    return np.sqrt(u_x**2 + v_y**2 + 2 * shear**2).astype(np.float32)


def flow_features(flow: np.ndarray, size: int = 28) -> np.ndarray:
    """(size, size, 3) float32 stack of u, v and strain, strain computed at the flow's own resolution.

    Values keep the units of the input flow (pixels of the frames it came from); shrinking averages
    (area interpolation) rather than samples, so a 28 px map summarises the whole face.
    """
    stack = np.dstack([flow[..., 0], flow[..., 1], optical_strain(flow)]).astype(np.float32)
    if stack.shape[:2] == (size, size):
        return stack
    return cv2.resize(stack, (size, size), interpolation=cv2.INTER_AREA)


def check_normalisation(method: str) -> str:
    """``method`` if it is a known normalisation: commands check it before computing any flow."""
    if method not in NORMALISATIONS:
        raise ConfigError(f"normalisation {method!r} is unknown; choose one of {NORMALISATIONS}")
    return method


def normalise(
    features: np.ndarray, method: str = "minmax", flow_scale: float = 2.0, strain_scale: float = 0.2
) -> np.ndarray:
    """(H, W, 3) uint8 image from u, v, strain, to save as an RGB PNG (R = u, G = v, B = strain).

    - ``minmax``: each channel of each image scaled so its minimum is 0 and its maximum 255, exactly the
      MEGC2019 composite's ``flow_uvos_28`` format. Magnitudes are not comparable across clips.
      A constant channel becomes 0.
    - ``magnitude``: one fixed scale for every clip, so magnitudes stay comparable: u and v map
      [-flow_scale, +flow_scale] pixels to [0, 255] (zero motion = 127.5), strain maps [0, strain_scale]
      to [0, 255]; values beyond are clipped.
    """
    check_normalisation(method)
    if method == "minmax":
        low = features.min(axis=(0, 1))
        span = features.max(axis=(0, 1)) - low
        scaled = (features - low) / np.where(span > 0, span, 1.0) * 255.0
    elif method == "magnitude":
        uv = (features[..., :2] / flow_scale + 1.0) * 127.5
        strain = features[..., 2:] / strain_scale * 255.0
        scaled = np.concatenate([uv, strain], axis=2)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _colour_wheel() -> np.ndarray:
    """The Middlebury flow colour wheel (Baker et al. 2011): 55 RGB hues, red → yellow → green → cyan →
    blue → magenta → red."""
    segments = [
        (15, (255, 0, 0), (255, 255, 0)),
        (6, (255, 255, 0), (0, 255, 0)),
        (4, (0, 255, 0), (0, 255, 255)),
        (11, (0, 255, 255), (0, 0, 255)),
        (13, (0, 0, 255), (255, 0, 255)),
        (6, (255, 0, 255), (255, 0, 0)),
    ]
    hues = []
    for steps, start, end in segments:
        fraction = np.arange(steps)[:, None] / steps
        hues.append((1 - fraction) * np.array(start) + fraction * np.array(end))
    return np.concatenate(hues)


def flow_to_colour(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """RGB uint8 picture of a flow field: hue = direction, saturation = magnitude (white = still).

    ``max_magnitude`` sets full saturation; by default the field's largest magnitude, so faint
    micro-expression motion is visible.
    """
    u, v = flow[..., 0], flow[..., 1]
    magnitude = np.hypot(u, v)
    limit = max_magnitude if max_magnitude is not None else max(float(magnitude.max()), 1e-6)
    radius = np.clip(magnitude / limit, 0, 1)[..., None]
    wheel = _colour_wheel()
    position = (np.arctan2(-v, -u) / np.pi + 1) / 2 * (len(wheel) - 1)  # Middlebury convention
    low = np.floor(position).astype(int)
    high = (low + 1) % len(wheel)
    fraction = (position - low)[..., None]
    colour = (1 - fraction) * wheel[low] + fraction * wheel[high]
    return np.rint(255 - radius * (255 - colour)).astype(np.uint8)


def read_flo(path: str | Path) -> np.ndarray:
    """A Middlebury ``.flo`` file as (H, W, 2) float32."""
    data = Path(path).read_bytes()
    if len(data) < 12 or np.frombuffer(data[:4], "<f4")[0] != 202021.25:
        raise UnreadableFileError(f"{path} is not a Middlebury .flo file (bad magic number)")
    width, height = np.frombuffer(data[4:12], "<i4")
    expected = 12 + int(width) * int(height) * 8
    if len(data) != expected:
        raise UnreadableFileError(
            f"{path} holds {len(data)} bytes, expected {expected} for {width}×{height} flow"
        )
    return np.frombuffer(data[12:], "<f4").reshape(int(height), int(width), 2).copy()
