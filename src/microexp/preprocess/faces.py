"""Face detection and landmarks behind one small interface, with two backends.

- ``dlib`` (default): HOG detector + the 68-point iBUG shape predictor shipped by
  ``face_recognition_models``.
- ``mtcnn``: our own torch P/R/O-Net cascade (see :mod:`microexp.preprocess.mtcnn`) with the weights
  shipped in the ``facenet-pytorch`` wheel; it gives a box and 5 points (eyes, nose, mouth corners).

``detect(image)`` returns every face, best score first; :func:`best_face` picks the highest-scoring
one or raises :class:`~microexp.errors.NoFaceError` naming the frame. With ``fallback="frame"`` a frame
without a face is treated as a face crop already (the databases ship cropped faces): the whole frame
becomes the box and there are no landmarks, so alignment falls back to resizing the box.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from microexp.errors import ConfigError, DataNotFoundError, NoFaceError, OutputError
from microexp.files import atomic_path, cache_root

logger = logging.getLogger(__name__)

BACKENDS = ("dlib", "mtcnn")
FALLBACKS = ("raise", "frame")


@dataclass(frozen=True)
class Face:
    """One detected face in image pixel coordinates (x right, y down)."""

    box: np.ndarray  # (4,) float: x0, y0, x1, y1
    score: float
    landmarks: np.ndarray | None  # (K, 2) float x, y; K = 68 (dlib) or 5 (mtcnn); None for the fallback
    scheme: str  # "ibug68", "mtcnn5" or "frame"

    def eye_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Centres of the eye on the image's left and on the image's right."""
        if self.scheme == "ibug68":
            return self.landmarks[36:42].mean(axis=0), self.landmarks[42:48].mean(axis=0)
        if self.scheme == "mtcnn5":
            return self.landmarks[0], self.landmarks[1]
        raise ValueError(f"a face from scheme {self.scheme!r} has no eye landmarks")


class FaceDetector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> list[Face]:
        """Every face in a uint8 grey or RGB image, best score first."""


def package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package, found without importing the package
    (``face_recognition_models`` needs pkg_resources and ``facenet_pytorch`` needs torchvision)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(f"package {package} is not installed; run `make install`")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise DataNotFoundError(f"{path} is missing from the installed {package}; reinstall it")
    return path


class DlibDetector:
    """dlib's HOG face detector plus its 68-point shape predictor."""

    name = "dlib"

    def __init__(self, upsample: int = 0) -> None:
        import dlib

        self.upsample = upsample  # 0 finds faces ≥ ~80 px, which every database crop exceeds
        self._detector = frontal_face_detector()
        predictor = package_file("face_recognition_models", "models", "shape_predictor_68_face_landmarks.dat")
        self._predictor = dlib.shape_predictor(str(predictor))

    def boxes(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """HOG boxes with their detection scores, best first."""
        rects, scores, _ = self._detector.run(_grey(image), self.upsample, 0.0)
        found = [
            (np.array([r.left(), r.top(), r.right(), r.bottom()], float), float(s))
            for r, s in zip(rects, scores, strict=True)
        ]
        return sorted(found, key=lambda item: -item[1])

    def landmarks(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        import dlib

        rect = dlib.rectangle(*(int(round(c)) for c in box))
        shape = self._predictor(_grey(image), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=float)

    def detect(self, image: np.ndarray) -> list[Face]:
        return [Face(box, score, self.landmarks(image, box), "ibug68") for box, score in self.boxes(image)]


def frontal_face_detector(folder: Path | None = None):
    """dlib's HOG face detector, the one ``dlib.get_frontal_face_detector()`` gives.

    dlib builds that one by parsing a text copy compiled into the library: 0.55 CPU s, a quarter of what
    ``predict`` on a 2 s clip costs. Its own binary serialisation loads in a millisecond, so the first load
    writes it to ``folder`` (default: the microexp cache folder), keyed by dlib's version, and later
    processes read it. A cache that cannot be written or read costs only the slow load."""
    import dlib

    path = (folder or cache_root()) / f"dlib-{dlib.__version__}-frontal_face_detector.svm"
    if path.is_file():
        try:
            return dlib.fhog_object_detector(str(path))
        except RuntimeError as error:  # a damaged file (dlib names what it could not read): made again below
            logger.warning("%s is unreadable (%s); rebuilding it", path, str(error).splitlines()[0])
    detector = dlib.get_frontal_face_detector()
    try:
        with atomic_path(path) as temporary:
            detector.save(str(temporary))
    except OutputError as error:
        logger.warning("the face detector is not cached, the next run loads it slowly again: %s", error)
    return detector


class MTCNNDetector:
    """The three-stage MTCNN cascade: box + 5 points."""

    name = "mtcnn"

    def __init__(self, min_face: int = 80, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)) -> None:
        from microexp.preprocess.mtcnn import MTCNN

        self._mtcnn = MTCNN(min_face=min_face, thresholds=thresholds)

    def detect(self, image: np.ndarray) -> list[Face]:
        # Database crops cut the face at the frame edges (CASME II loses chin and forehead), and
        # MTCNN does not propose a face larger than the frame. A mid-grey border of half the shorter
        # side (grey is 0 after MTCNN's normalisation) lets the whole face fit; on the CASME II frames
        # the eyes then land within ~2 px of dlib's, against no detection without the border.
        pad = min(image.shape[:2]) // 2
        padded = cv2.copyMakeBorder(
            _rgb(image), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(127, 127, 127)
        )
        boxes, scores, points = self._mtcnn.detect(padded)
        order = np.argsort(-scores)
        return [Face(boxes[i] - pad, float(scores[i]), points[i] - pad, "mtcnn5") for i in order]


@cache
def get_detector(name: str = "dlib") -> FaceDetector:
    """One detector per backend per process: loading the models costs more than detecting."""
    if name == "dlib":
        return DlibDetector()
    if name == "mtcnn":
        return MTCNNDetector()
    raise ConfigError(f"face backend {name!r} is unknown; choose one of {BACKENDS}")


def best_face(image: np.ndarray, detector: FaceDetector, frame: str | Path, fallback: str = "raise") -> Face:
    """The highest-scoring face in ``image`` (read from ``frame``, named in errors)."""
    if fallback not in FALLBACKS:
        raise ConfigError(f"no-face fallback {fallback!r} is unknown; choose one of {FALLBACKS}")
    faces = detector.detect(image)
    if faces:
        return faces[0]
    if fallback == "frame":
        height, width = image.shape[:2]
        return Face(np.array([0.0, 0.0, width - 1.0, height - 1.0]), 0.0, None, "frame")
    raise NoFaceError(
        f"frame {frame}: the {detector.name} backend found no face; check the frame, try the other "
        f"backend, or pass fallback='frame' (--no-face frame) to treat the whole frame as the face"
    )


def landmarks68(image: np.ndarray, frame: str | Path, fallback: str = "raise") -> Face:
    """The face found by the multi-task CNN (MTCNN's box) with dlib's 68 points fitted inside that box: the
    landmarks that divide a face into regions (:mod:`microexp.features.regions`). MTCNN finds faces in
    database crops where dlib's HOG detector does not (it cuts chins and foreheads); dlib's predictor gives
    the 68 points MTCNN's 5 cannot. ``fallback="frame"``: a crop without a detected face is fitted in the
    whole frame (the crop is the face)."""
    face = best_face(image, get_detector("mtcnn"), frame, fallback)
    dlib_model = get_detector("dlib")
    return Face(face.box, face.score, dlib_model.landmarks(image, face.box), "ibug68")


def _grey(image: np.ndarray) -> np.ndarray:
    # dlib reads the buffer as if it were C-contiguous: a view (a slice of a larger frame, a mirrored or a
    # single-channel view) gives it sheared pixels, in which it silently finds no face
    grey = image if image.ndim == 2 else image.mean(axis=2).round().astype(np.uint8)
    return np.ascontiguousarray(grey)


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
