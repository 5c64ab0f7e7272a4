"""One face followed through a video, frame by frame: detection only when the track is lost or due for a
check, 68 landmarks on every tracked frame, and an aligned grey crop of fixed size.

At 200 fps a detector cannot run on every frame (HOG: ~20 ms on 640×480; the 68-point fit: ~1 ms). So the
68 points of a frame are fitted in a box predicted from the previous frame's points, and the detector runs
again when

- no face is tracked (every ``retry_every`` frames, so a long face-less stretch stays cheap);
- ``redetect_every`` frames have passed since the last detection, which catches a track that slid onto
  something that is not a face;
- the fit degrades: the aligned crop no longer resembles the crop made at the last detection (normalised
  correlation below ``min_similarity``), or the points leave the frame. A face that walks out of the frame or
  turns away fails this check on the next frame, before the periodic detection would notice.

With ``fit_every`` n > 1 the points are fitted on every n-th frame only (a spotter that reads every n-th frame
needs no more); the frames between still get their own crop, made with the last transform, and the
resemblance check, so a face that leaves is still noticed on the frame it leaves.

A frame whose check finds no face is marked face-less (``None``): later stages never use it as an onset or
an apex. The crop keeps one alignment while the head is still (a new transform on every frame would add a
pixel of landmark jitter, larger than a micro-expression) and takes a new one when the eyes have moved more
than ``realign_px`` from where it was made.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from microexp.errors import ConfigError
from microexp.preprocess.align import alignment_matrix, warp
from microexp.preprocess.faces import BACKENDS, Face, get_detector
from microexp.video.stream import StreamFrame, stream_frames


@dataclass(frozen=True)
class TrackerSettings:
    backend: str = "dlib"  # detector run when the track is lost or checked; landmarks are dlib's 68 points
    crop_size: int = 128  # side of the aligned crop handed on
    margin: float = 0.05  # border around the face square, as in the flow inputs
    redetect_every: int = 100  # frames between confirming detections while tracking
    retry_every: int = 5  # frames between detection attempts while no face is tracked
    min_similarity: float = 0.6  # normalised correlation of the crop with the one made at the last detection
    realign_px: float = 2.0  # eye movement (frame pixels) that makes a new alignment transform
    fit_every: int = 1  # fit the 68 points on every n-th tracked frame; the crop is made on every frame

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"face backend {self.backend!r} is unknown; choose one of {BACKENDS}")
        for name in ("crop_size", "redetect_every", "retry_every", "fit_every"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ConfigError(f"tracker setting {name}={value!r}: expected a positive integer")
        if not -1 <= self.min_similarity <= 1:
            raise ConfigError(f"tracker setting min_similarity={self.min_similarity}: expected a value in [-1, 1]")


@dataclass(frozen=True)
class TrackedFace:
    """The face on one frame: its box and 68 points in frame pixels, and its aligned crop."""

    box: np.ndarray  # (4,) x0, y0, x1, y1
    landmarks: np.ndarray = field(repr=False)  # (68, 2) frame pixels
    crop: np.ndarray = field(repr=False)  # (crop_size, crop_size) uint8 grey
    crop_landmarks: np.ndarray = field(repr=False)  # (68, 2) crop pixels
    matrix: np.ndarray = field(repr=False)  # 2×3, frame pixels → crop pixels
    detected: bool  # the detector ran on this frame (the others were tracked)
    fitted: bool = True  # the points were fitted on this frame (else they are the last fit's, ``fit_every``)


# A face's 68 points cover brows to chin but not the forehead: the detector's box is larger. The box to fit
# the next frame in is the points' box grown as the detector's box was around them on the last detection.
def _points_box(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def _signature(crop: np.ndarray) -> np.ndarray:
    """A crop at 32 px (fine texture is noise here), zero-mean and of unit length: the dot product of two is
    their normalised correlation."""
    small = cv2.resize(crop, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 0 else small


class FaceTracker:
    """Feed grey frames in order with :meth:`update`; it returns the face on each, or None."""

    def __init__(self, settings: TrackerSettings = TrackerSettings()) -> None:
        self.settings = settings
        self._landmark_model = None  # the 68-point model loads on the first frame (1 s, ~60 MB), once a process
        self._detector = None
        self._points: np.ndarray | None = None  # last tracked frame's landmarks
        self._box_from_points: np.ndarray | None = None  # detector box relative to the points' box
        self._reference: np.ndarray | None = None  # signature of the crop at the last detection
        self._last: TrackedFace | None = None  # the last frame whose points were fitted
        self._since_fit = 0
        self._matrix: np.ndarray | None = None
        self._eyes: np.ndarray | None = None  # eye centres the current matrix was made from
        self._since_detection = 0
        self._since_attempt = 0
        self.detections = 0  # detector runs, for the record

    def update(self, image: np.ndarray) -> TrackedFace | None:
        """The face on ``image`` (grey (H, W) uint8), tracked from the previous frame or detected."""
        if self._landmark_model is None:
            self._landmark_model = get_detector("dlib")
            self._detector = get_detector(self.settings.backend)
            self._since_attempt = self.settings.retry_every
        if self._points is None:
            self._since_attempt += 1
            if self._since_attempt < self.settings.retry_every:
                return None
            return self._detect(image)
        self._since_detection += 1
        if self._since_detection >= self.settings.redetect_every:
            return self._detect(image)
        self._since_fit += 1
        if self._since_fit < self.settings.fit_every:
            # between fits: the crop is made from this frame with the last transform and must still look like
            # the face; the points are the last fit's
            crop = warp(image, self._matrix, self.settings.crop_size)
            if not self._resembles(crop):
                return self._detect(image)
            return dataclasses.replace(self._last, crop=crop, detected=False, fitted=False)
        box = self._predicted_box()
        points = self._landmark_model.landmarks(image, box)
        face = self._face(image, box, points, detected=False)
        if face is None or not self._resembles(face.crop):
            return self._detect(image)
        self._points, self._last, self._since_fit = points, face, 0
        return face

    def _resembles(self, crop: np.ndarray) -> bool:
        return float(_signature(crop) @ self._reference) >= self.settings.min_similarity

    def _predicted_box(self) -> np.ndarray:
        x0, y0, x1, y1 = _points_box(self._points)
        side = np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0])
        return np.array([x0, y0, x1, y1]) + self._box_from_points * side

    def _detect(self, image: np.ndarray) -> TrackedFace | None:
        self.detections += 1
        self._since_attempt = 0
        faces = self._detector.detect(image)
        if not faces:
            self._points = None
            return None
        box = faces[0].box
        points = faces[0].landmarks if faces[0].scheme == "ibug68" else self._landmark_model.landmarks(image, box)
        x0, y0, x1, y1 = _points_box(points)
        side = np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0])
        self._box_from_points = (box - np.array([x0, y0, x1, y1])) / np.maximum(side, 1.0)
        self._matrix = None  # a fresh alignment after every detection
        face = self._face(image, box, points, detected=True)
        if face is None:
            self._points = None
            return None
        self._points, self._last, self._since_fit = points, face, 0
        self._reference = _signature(face.crop)
        self._since_detection = 0
        return face

    def _face(self, image: np.ndarray, box: np.ndarray, points: np.ndarray, detected: bool) -> TrackedFace | None:
        height, width = image.shape[:2]
        x0, y0, x1, y1 = _points_box(points)
        inside = (min(x1, width) - max(x0, 0)) * (min(y1, height) - max(y0, 0))
        if x1 <= x0 or y1 <= y0 or inside < 0.75 * (x1 - x0) * (y1 - y0):
            return None  # the points have slid off the frame: the face is leaving it
        face = Face(box, 1.0, points, "ibug68")
        eyes = np.concatenate(face.eye_centres())
        if self._matrix is None or np.abs(eyes - self._eyes).max() > self.settings.realign_px:
            self._matrix = alignment_matrix(face, self.settings.crop_size, self.settings.margin)
            self._eyes = eyes
        crop = warp(image, self._matrix, self.settings.crop_size)
        crop_points = points @ self._matrix[:, :2].T + self._matrix[:, 2]
        return TrackedFace(box, points, crop, crop_points, self._matrix, detected)


class TrackLog:
    """Per frame index: its time, whether it has a face, and the face box. O(frames) numbers, no images."""

    def __init__(self) -> None:
        self._times = array("d")
        self._face = bytearray()
        self._boxes = array("f")

    def add(self, index: int, time: float, face: TrackedFace | None) -> None:
        missing = index - len(self._face)
        if missing < 0:
            raise ValueError(f"frame {index} logged after frame {len(self._face) - 1}")
        # frames that could not be decoded keep their index: no time, no face
        self._times.extend([math.nan] * missing)
        self._face.extend(bytes(missing))
        self._boxes.extend([math.nan] * (4 * missing))
        self._times.append(time)
        self._face.append(face is not None)
        self._boxes.extend(face.box if face is not None else [math.nan] * 4)

    def __len__(self) -> int:
        return len(self._face)

    @property
    def times(self) -> np.ndarray:
        return np.frombuffer(self._times, dtype=np.float64)

    @property
    def has_face(self) -> np.ndarray:
        return np.frombuffer(bytes(self._face), dtype=np.uint8).astype(bool)

    @property
    def boxes(self) -> np.ndarray:
        return np.frombuffer(self._boxes, dtype=np.float32).reshape(-1, 4)

    def face_run(self, index: int) -> tuple[int, int]:
        """First and last index of the unbroken run of face frames holding ``index`` (which has a face)."""
        face = self._face
        first = last = index
        while first > 0 and face[first - 1]:
            first -= 1
        while last < len(face) - 1 and face[last + 1]:
            last += 1
        return first, last


def track_stream(
    source: str | Path, settings: TrackerSettings = TrackerSettings()
) -> Iterator[tuple[StreamFrame, TrackedFace | None]]:
    """Every frame of ``source`` with the face tracked on it (None: no face)."""
    tracker = FaceTracker(settings)
    for frame in stream_frames(source):
        yield frame, tracker.update(frame.grey())
