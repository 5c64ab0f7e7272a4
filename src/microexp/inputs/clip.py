"""One clip's frames as builders read them: files named in the table, or frames already in memory (a
decoded video), with the onset, apex and offset resolved to positions and one face alignment per clip
(or, for frames that are a database's face crops, ``face_geometry="as-cropped"``, the whole frame)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microexp.errors import DataError
from microexp.inputs.spec import InputSettings, is_missing
from microexp.preprocess.align import align_frames
from microexp.preprocess.faces import Face
from microexp.preprocess.pipeline import face_transform
from microexp.preprocess.video import find_frame, frame_number, read_frames


@dataclass(frozen=True)
class ClipFrames:
    """The frames of one clip. ``numbers`` are the frame numbers annotations use (img46.jpg is 46; a
    video's 0-based indices); exactly one of ``paths`` and ``images`` (grey, (T, H, W) uint8) is set."""

    name: str
    numbers: tuple[int, ...]
    paths: tuple[Path, ...] | None = None
    images: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.numbers)

    def position(self, number: int, what: str) -> int:
        if self.paths is not None:
            return find_frame(self.paths, number)
        if number not in self.numbers:
            raise DataError(
                f"{self.name}: {what} frame {number} is not in the clip (frames {self.numbers[0]}–{self.numbers[-1]})"
            )
        return self.numbers.index(number)

    def read(self, positions: Sequence[int]) -> np.ndarray:
        """Grey frames (len(positions), H, W) uint8, read as the database's files are (OpenCV grey)."""
        if self.images is not None:
            return self.images[list(positions)]
        return read_frames([self.paths[p] for p in positions])

    def sources(self, positions: Sequence[int]) -> list[Path | np.ndarray]:
        if self.images is not None:
            return [self.images[p] for p in positions]
        return [self.paths[p] for p in positions]


def clip_frames(row: Mapping[str, Any]) -> ClipFrames:
    """The frames of a table row: its ``frames`` paths, or ``frame_images`` + ``frame_numbers``."""
    name = str(row.get("clip_id", "clip"))
    images = row.get("frame_images")
    if images is not None:
        return ClipFrames(name, tuple(int(n) for n in row["frame_numbers"]), images=np.asarray(images))
    paths = tuple(Path(p) for p in (row.get("frames") or ()))
    if not paths:
        raise DataError(
            f"{name}: the table gives no frames for this clip; load the database with its frames folder "
            "(--data-dir pointing at your copy) or choose a model whose inputs the database ships"
        )
    return ClipFrames(name, tuple(frame_number(p) for p in paths), paths=paths)


def _annotated(row: Mapping[str, Any], column: str) -> int | None:
    value = row.get(column)
    return None if is_missing(value) else int(value)


@dataclass(frozen=True)
class Phases:
    """Positions into a clip's frames: the onset, the apex (None: to be spotted) and the last frame of
    the expression (the offset, or the apex when no offset is annotated, or the last frame)."""

    onset: int
    apex: int | None
    last: int


def phases(frames: ClipFrames, row: Mapping[str, Any]) -> Phases:
    """Onset, apex and offset of a row as positions, checked for order. No onset: the first frame."""
    onset_number = _annotated(row, "onset")
    onset = 0 if onset_number is None else frames.position(onset_number, "onset")
    apex_number, offset_number = _annotated(row, "apex"), _annotated(row, "offset")
    apex = None if apex_number is None else frames.position(apex_number, "apex")
    last = len(frames) - 1 if offset_number is None else frames.position(offset_number, "offset")
    if apex is not None and offset_number is None:
        last = apex
    if apex is not None and not onset <= apex <= last:
        raise DataError(
            f"{frames.name}: apex {apex_number} is outside onset–offset "
            f"{frames.numbers[onset]}–{frames.numbers[last]}; fix the annotation"
        )
    if last < onset:
        raise DataError(f"{frames.name}: offset {offset_number} comes before onset {frames.numbers[onset]}")
    return Phases(onset, apex, last)


def aligned(
    frames: ClipFrames, positions: Sequence[int], settings: InputSettings, size: int | None = None
) -> tuple[np.ndarray, Face]:
    """The frames at ``positions`` cropped by one transform: (len, size, size) uint8, and the face it came
    from. ``face_geometry`` "detect": the face found on the first of them (the onset), aligned on its eyes;
    "as-cropped": each frame whole, resized to the square (the face is the frame). ``settings`` are
    resolved for the row (:meth:`InputSettings.resolve_for_row`); an unresolved "auto" detects."""
    pixels = frames.read(positions)
    where = (
        frames.paths[positions[0]]
        if frames.paths is not None
        else f"{frames.name} frame {frames.numbers[positions[0]]}"
    )
    side = settings.crop_size if size is None else size
    face, matrix = face_transform(
        pixels[0],
        where,
        geometry=settings.flow.geometry,
        backend=settings.face_backend,
        no_face=settings.no_face,
        size=side,
        margin=settings.margin,
    )
    return align_frames(pixels, matrix, side), face


def face_record(face: Face) -> dict[str, Any]:
    """What a built input records of its face: the box in the first frame's pixels, the detector's score and
    whether a face was detected ("frame": the whole frame stood in, by ``as-cropped`` or ``no_face``)."""
    return {"face_box": [float(v) for v in face.box], "face_score": float(face.score), "face_scheme": face.scheme}
