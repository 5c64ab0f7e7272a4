"""A trained model bundle applied to a new clip: a video file or a folder of frames.

The clip goes through the same steps its training database went through (face and landmarks on the onset
frame, one similarity alignment, onset→apex flow, (u, v, strain) at the model's size, the same 0–255
normalisation), with the settings the bundle recorded, then the bundle's model gives class probabilities.
The apex is given, or spotted as the frame that moved most from the onset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from microexp.errors import ConfigError, DataError, NoFaceError
from microexp.preprocess.align import align_frames, alignment_matrix
from microexp.preprocess.faces import best_face, get_detector
from microexp.preprocess.flow import PARAMS, compute_flow, flow_features, normalise
from microexp.preprocess.pipeline import FlowSettings
from microexp.preprocess.spotting import spot_apex
from microexp.preprocess.video import frame_number, list_frames, read_frames, read_video
from microexp.training.inputs import resize_image


class Predictor(Protocol):
    """What prediction needs from a loaded bundle."""

    classes: tuple[str, ...]
    preprocessing: Mapping[str, Any]

    @property
    def input_spec(self): ...

    def predict_proba(self, x_raw: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ClipPrediction:
    """The outcome for one clip. ``onset`` and ``apex`` are frame numbers for a frame folder (img46.jpg is
    46) and 0-based frame indices for a video."""

    source: str
    face_box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the onset frame's pixels
    onset: int
    apex: int
    apex_method: str  # "given", or the spotting method
    label: str
    probabilities: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def preprocessing_record(settings: FlowSettings, norm: str) -> dict[str, Any]:
    """The bundle's record of how its inputs were made, enough to make them again for a new clip."""
    return {
        "face_backend": settings.backend,
        "crop_size": settings.crop_size,
        "margin": settings.margin,
        "flow_method": settings.method,
        "flow_params": dataclasses.asdict(settings.flow_params),
        "size": settings.size,
        "norm": norm,
    }


def settings_from(preprocessing: Mapping[str, Any]) -> tuple[FlowSettings, str]:
    """FlowSettings and normalisation from a bundle's record; a key it lacks keeps the default that
    database-wide preprocessing (``attach_flows``) uses."""
    method = preprocessing.get("flow_method", FlowSettings.method)
    params = preprocessing.get("flow_params")
    settings = FlowSettings(
        backend=preprocessing.get("face_backend", FlowSettings.backend),
        crop_size=int(preprocessing.get("crop_size", FlowSettings.crop_size)),
        margin=float(preprocessing.get("margin", FlowSettings.margin)),
        method=method,
        flow_params=None if params is None else PARAMS[method](**params),
        size=int(preprocessing.get("size", FlowSettings.size)),
    )
    return settings, preprocessing.get("norm", "minmax")


def read_clip(source: str | Path) -> tuple[np.ndarray, list[int]]:
    """RGB frames (T, H, W, 3) of a video file or a frame folder, and the number each frame goes by."""
    source = Path(source)
    if source.is_dir():
        paths = list_frames(source)
        return read_frames(paths, colour=True), [frame_number(p) for p in paths]
    frames = read_video(source, colour=True)
    return frames, list(range(len(frames)))


def _position(numbers: Sequence[int], number: int, what: str, source: str) -> int:
    if number not in numbers:
        raise DataError(
            f"{source}: {what} frame {number} is not in the clip (frames {numbers[0]}–{numbers[-1]}); "
            "a folder's frames go by the number in their names, a video's by 0-based index"
        )
    return list(numbers).index(number)


def predict_clip(
    bundle: Predictor,
    frames: np.ndarray,
    numbers: Sequence[int],
    source: str,
    *,
    onset: int | None = None,
    apex: int | None = None,
    spot: bool = False,
) -> ClipPrediction:
    """Class probabilities of one clip. Give ``onset`` and ``apex``, or ``spot`` (the onset defaults to the
    first frame, and the apex is the frame after it that moved most from it)."""
    spec = bundle.input_spec
    if spec.modality != "flow":
        raise ConfigError(
            f"predict works with flow models; this bundle's model takes {spec.describe()} inputs"
        )
    if spot == (apex is not None):
        raise ConfigError("give --onset and --apex, or --spot (with an optional --onset) to find the apex")
    if not spot and onset is None:
        raise ConfigError("--apex needs --onset: the flow goes from the onset frame to the apex frame")
    settings, norm = settings_from(bundle.preprocessing)
    first = 0 if onset is None else _position(numbers, onset, "onset", source)
    # the same luminance weights as reading a database's frames in grey (cv2.IMREAD_GRAYSCALE)
    grey = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]) if frames.ndim == 4 else frames
    try:
        face = best_face(grey[first], get_detector(settings.backend), f"{source} frame {numbers[first]}")
    except NoFaceError:
        raise NoFaceError(
            f"{source}: the {settings.backend} face detector found no face on the onset frame "
            f"({numbers[first]}); predict needs a clip of one visible, roughly frontal face"
        ) from None
    matrix = alignment_matrix(face, settings.crop_size, settings.margin)
    if spot:
        if first == len(frames) - 1:
            raise DataError(f"{source}: the onset is the last frame; spotting needs frames after it")
        aligned = align_frames(grey[first:], matrix, settings.crop_size)
        found = spot_apex(aligned, method="flow")
        last, apex_method, apex_frame = first + found.index, found.method, aligned[found.index]
    else:
        last = _position(numbers, apex, "apex", source)
        if last < first:
            raise DataError(f"{source}: apex {apex} comes before onset {onset}")
        aligned = align_frames(grey[[first, last]], matrix, settings.crop_size)
        apex_method, apex_frame = "given", aligned[1]
    flow = compute_flow(aligned[0], apex_frame, settings.method, settings.flow_params)
    image = normalise(flow_features(flow, settings.size), norm)  # as attach_flows writes it
    x = resize_image(image, spec.size)[..., : spec.channels].transpose(2, 0, 1)[None].astype(np.float32)
    probabilities = bundle.predict_proba(x)[0]
    return ClipPrediction(
        source=source,
        face_box=tuple(float(v) for v in face.box),
        onset=int(numbers[first]),
        apex=int(numbers[last]),
        apex_method=apex_method,
        label=bundle.classes[int(np.argmax(probabilities))],
        probabilities={name: float(p) for name, p in zip(bundle.classes, probabilities, strict=True)},
    )
