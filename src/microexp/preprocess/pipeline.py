"""The onset→apex path end to end for one clip. Many clips, cached and in worker processes, are the
input builders' job (:mod:`microexp.inputs`).

frames → face + landmarks on the onset frame → one similarity transform → aligned crops →
flow (onset→apex) → (u, v, strain) at ``size`` pixels. With ``geometry="as-cropped"`` the frames are a
database's face crops already: no face is detected and each frame is resized whole to the square.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from microexp.errors import ConfigError
from microexp.preprocess.align import GEOMETRIES, align_frames, alignment_matrix, whole_frame_matrix
from microexp.preprocess.faces import BACKENDS, FALLBACKS, Face, best_face, get_detector
from microexp.preprocess.flow import (
    PARAMS,
    DISParams,
    FarnebackParams,
    TVL1Params,
    compute_flow,
    flow_features,
)
from microexp.preprocess.spotting import ApexSpot, spot_apex
from microexp.preprocess.video import clip_range, find_frame, frame_number, read_frames


@dataclass(frozen=True)
class FlowSettings:
    """Every choice that changes the output; the cache key is made from all of them."""

    backend: str = "dlib"  # face backend: "dlib" (68 points) or "mtcnn" (5 points)
    no_face: str = "raise"  # or "frame": treat a face-less onset frame as a face crop already
    crop_size: int = 128  # aligned crop side in pixels; flow is computed at this resolution
    margin: float = 0.05  # border around the face square, as a fraction of it
    method: str = "tvl1"
    flow_params: TVL1Params | FarnebackParams | DISParams | None = None  # None: the method's defaults
    size: int = 28  # side of the (u, v, strain) output
    geometry: str = "detect"  # or "as-cropped": the frames are the database's face crops, resized whole

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRIES:
            raise ConfigError(f"face geometry {self.geometry!r} is unknown; choose one of {GEOMETRIES}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"face backend {self.backend!r} is unknown; choose one of {BACKENDS}")
        if self.no_face not in FALLBACKS:
            raise ConfigError(f"no-face fallback {self.no_face!r} is unknown; choose one of {FALLBACKS}")
        if self.method not in PARAMS:
            raise ConfigError(f"flow method {self.method!r} is unknown; choose one of {tuple(PARAMS)}")
        for name in ("crop_size", "size"):
            value = getattr(self, name)
            if type(value) is not int or value < 8:
                raise ConfigError(f"flow setting {name}={value!r}: expected an integer of at least 8 pixels")
        if self.flow_params is None:
            object.__setattr__(self, "flow_params", PARAMS[self.method]())
        if not isinstance(self.flow_params, PARAMS[self.method]):
            raise ConfigError(
                f"flow method {self.method!r} takes {PARAMS[self.method].__name__}, "
                f"got {type(self.flow_params).__name__}"
            )

    def key_params(self) -> dict:
        return {**asdict(self), "flow_params_type": type(self.flow_params).__name__}


@dataclass(frozen=True)
class Clip:
    """One clip to preprocess: its frames in order and the annotated onset and apex *frame numbers*
    (as the database numbers them: CASME II onset 46 is ``img46.jpg``)."""

    frames: tuple[Path, ...]
    onset: int
    apex: int
    clip_id: str = ""

    def onset_apex_paths(self) -> tuple[Path, Path]:
        selected = clip_range(self.frames, self.onset, self.apex)
        return selected[0], selected[-1]


@dataclass(frozen=True)
class ClipResult:
    """Everything ``preprocess_clip`` made for one clip."""

    frames: tuple[Path, ...]  # onset .. last frame processed
    aligned: np.ndarray = field(repr=False)  # (T, crop, crop) uint8
    face: Face
    matrix: np.ndarray = field(repr=False)  # 2×3, image pixels → crop pixels
    apex: ApexSpot
    flow: np.ndarray = field(repr=False)  # (crop, crop, 2) onset → apex, crop pixels
    features: np.ndarray = field(repr=False)  # (size, size, 3) u, v, strain


def face_transform(
    frame: np.ndarray,
    where: str | Path,
    *,
    geometry: str = "detect",
    backend: str = "dlib",
    no_face: str = "raise",
    size: int = 128,
    margin: float = 0.05,
) -> tuple[Face, np.ndarray]:
    """The face of a clip's first frame and the transform that crops every frame of the clip to ``size``.

    ``detect``: the best face, aligned on its eyes (``no_face`` says what a frame without one does).
    ``as-cropped``: no detection; the whole frame is the face (box = the frame, no landmarks), resized to
    the square."""
    if geometry not in GEOMETRIES:
        raise ConfigError(f"face geometry {geometry!r} is unknown; choose one of {GEOMETRIES}")
    if geometry == "as-cropped":
        height, width = frame.shape[:2]
        face = Face(np.array([0.0, 0.0, width - 1.0, height - 1.0]), 0.0, None, "frame")
        return face, whole_frame_matrix(width, height, size)
    face = best_face(frame, get_detector(backend), where, no_face)
    return face, alignment_matrix(face, size, margin)


def align_clip(paths: Sequence[Path], settings: FlowSettings) -> tuple[np.ndarray, Face, np.ndarray]:
    """Read frames, find the face on the first (onset) frame, crop every frame with that one transform."""
    frames = read_frames(paths)
    face, matrix = face_transform(
        frames[0],
        paths[0],
        geometry=settings.geometry,
        backend=settings.backend,
        no_face=settings.no_face,
        size=settings.crop_size,
        margin=settings.margin,
    )
    return align_frames(frames, matrix, settings.crop_size), face, matrix


def pair_flow(onset: str | Path, apex: str | Path, settings: FlowSettings = FlowSettings()) -> np.ndarray:
    """(size, size, 3) float32 u, v, strain between two frame files, in pixels of the aligned crop.

    Normalise with :func:`microexp.preprocess.flow.normalise` to get the composite's PNG format.
    """
    aligned, _, _ = align_clip([Path(onset), Path(apex)], settings)
    flow = compute_flow(aligned[0], aligned[1], settings.method, settings.flow_params)
    return flow_features(flow, settings.size)


def clip_flow(clip: Clip, settings: FlowSettings = FlowSettings()) -> np.ndarray:
    """(size, size, 3) float32 u, v, strain of a clip's onset→apex motion."""
    return pair_flow(*clip.onset_apex_paths(), settings)


def preprocess_clip(
    frames: Sequence[Path],
    onset: int,
    apex: int | None = None,
    offset: int | None = None,
    settings: FlowSettings = FlowSettings(),
) -> ClipResult:
    """One clip in full: aligned crops from onset to apex (or offset), the apex (annotated or spotted
    by flow magnitude when ``apex`` is None), and the onset→apex flow features."""
    if apex is not None:
        paths = clip_range(frames, onset, apex, offset)
    else:
        # no annotated apex (SMIC): search from the onset to the offset, or to the last frame
        paths = clip_range(frames, onset, offset if offset is not None else frame_number(frames[-1]))
    aligned, face, matrix = align_clip(paths, settings)
    if apex is None:
        spot = spot_apex(aligned, method="flow")
    else:
        spot = ApexSpot(index=find_frame(paths, apex), method="annotation", scores=None)
    flow = compute_flow(aligned[0], aligned[spot.index], settings.method, settings.flow_params)
    return ClipResult(tuple(paths), aligned, face, matrix, spot, flow, flow_features(flow, settings.size))
