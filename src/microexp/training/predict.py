"""A trained model bundle applied to a new clip: a video file or a folder of frames.

The clip's inputs are made by the same builders, with the same settings, as the bundle's training inputs
(:mod:`microexp.inputs`), from the frames in memory; then the bundle's model gives class probabilities.
The apex is given, or spotted as the frame that moved most from the onset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

from microexp.errors import ConfigError, DataError, NoFaceError
from microexp.inputs.build import build_clip_inputs, read_info
from microexp.inputs.spec import InputSettings, InputSpec
from microexp.preprocess.video import frame_number, list_frames, read_frames, read_video

if TYPE_CHECKING:
    from microexp.data.schema import SampleTable


class Predictor(Protocol):
    """What prediction needs from a loaded bundle."""

    classes: tuple[str, ...]

    @property
    def inputs(self) -> Mapping[str, InputSpec]: ...

    @property
    def input_settings(self) -> InputSettings: ...

    def predict_proba(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray: ...


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


def grey_frames(frames: np.ndarray) -> np.ndarray:
    """(T, H, W) uint8 from RGB (T, H, W, 3) frames, with the luminance weights used when a database's
    frames are read in grey (cv2.IMREAD_GRAYSCALE)."""
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]) if frames.ndim == 4 else frames


def clip_span(numbers: Sequence[int], onset: int | None, offset: int | None, source: str) -> tuple[int, int]:
    """The first and last frame numbers of a clip's span (default: all of it), checked against its frames."""
    first = numbers[0] if onset is None else numbers[_position(numbers, onset, "onset", source)]
    last = numbers[-1] if offset is None else numbers[_position(numbers, offset, "offset", source)]
    if last < first:
        raise DataError(f"{source}: offset {last} comes before onset {first}")
    return first, last


def clip_row(
    frames: np.ndarray,
    numbers: Sequence[int],
    source: str,
    onset: int,
    apex: int | None,
    offset: int | None = None,
) -> dict[str, Any]:
    """The sample-table row of a clip whose frames (RGB or grey) are in memory, as the input builders read
    clips; onset, apex and offset are frame numbers."""
    return {
        "dataset": "clip",
        "subject": "clip",
        "clip_id": source,
        "clip": source,
        "label": 0,
        "onset": onset,
        "apex": apex,
        "offset": offset,
        "frames": (),
        "frame_images": grey_frames(frames),
        "frame_numbers": tuple(int(n) for n in numbers),
    }


def clip_table(row: dict[str, Any]) -> SampleTable:
    """A one-row sample table of a :func:`clip_row`, for the callers that take a table (``inspect``)."""
    from microexp.data.schema import build_table

    return build_table("clip", ("unknown",), [row])


def predict_clip(
    bundle: Predictor,
    frames: np.ndarray,
    numbers: Sequence[int],
    source: str,
    *,
    onset: int | None = None,
    apex: int | None = None,
    spot: bool = False,
    cache_dir: str | Path | None = None,
) -> ClipPrediction:
    """Class probabilities of one clip, its inputs built as the bundle's training inputs were (the same
    builders and settings). Give ``onset`` and ``apex``, or ``spot`` (the onset defaults to the first frame,
    and the apex is the frame after it that moved most from it)."""
    if spot == (apex is not None):
        raise ConfigError("give --onset and --apex, or --spot (with an optional --onset) to find the apex")
    if not spot and onset is None:
        raise ConfigError("--apex needs --onset: the flow goes from the onset frame to the apex frame")
    first = 0 if onset is None else _position(numbers, onset, "onset", source)
    last = None if spot else _position(numbers, apex, "apex", source)
    if spot and first == len(frames) - 1:
        raise DataError(f"{source}: the onset is the last frame; spotting needs frames after it")
    if last is not None and last < first:
        raise DataError(f"{source}: apex {apex} comes before onset {onset}")
    settings = bundle.input_settings
    apex_method = "given"
    try:
        if spot:
            # the frame that moved most from the onset, as the flow builder spots it for SMIC
            flow_spec = {"flow": InputSpec("flow", (3, settings.flow_size, settings.flow_size))}
            built = build_clip_inputs(
                clip_row(frames, numbers, source, numbers[first], None), flow_spec, settings, cache_dir=cache_dir
            )
            info = read_info(built["flow"])
            last, apex_method = list(numbers).index(info["apex"]), info["apex_method"]
        probabilities, facts = classify_span(
            bundle, frames, numbers, source, numbers[first], numbers[last], cache_dir=cache_dir
        )
    except NoFaceError:
        raise NoFaceError(
            f"{source}: the {settings.face_backend} face detector found no face on the onset frame "
            f"({numbers[first]}); predict needs a clip of one visible, roughly frontal face"
        ) from None
    return ClipPrediction(
        source=source,
        face_box=tuple(
            float(v) for v in facts.get("face_box", (0.0, 0.0, float(frames.shape[2]), float(frames.shape[1])))
        ),
        onset=int(numbers[first]),
        apex=int(numbers[last]),
        apex_method=apex_method,
        label=max(probabilities, key=probabilities.get),
        probabilities=probabilities,
    )


def classify_span(
    bundle: Predictor,
    frames: np.ndarray,
    numbers: Sequence[int],
    source: str,
    onset: int,
    apex: int,
    offset: int | None = None,
    *,
    cache_dir: str | Path | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Class probabilities of the expression from ``onset`` to ``apex`` (frame numbers among ``numbers``) and
    the facts the builders recorded (the face box), the inputs built as the bundle's training inputs were.
    Raises :class:`NoFaceError` when the bundle's face detector finds no face on the onset frame."""
    paths = build_clip_inputs(
        clip_row(frames, numbers, source, onset, apex, offset), bundle.inputs, bundle.input_settings,
        cache_dir=cache_dir,
    )
    facts: dict[str, Any] = {}
    for path in paths.values():
        facts.update(read_info(path))
    probabilities = bundle.predict_proba({name: np.load(path)[None] for name, path in paths.items()})[0]
    return {name: float(p) for name, p in zip(bundle.classes, probabilities, strict=True)}, facts
