"""Annotated long videos, the unit of the MEGC spotting task: a recording's frames and its micro-expressions.

The long-video databases (CAS(ME)^2, SAMM long videos, and the synthetic long videos microexp writes) keep
one folder of numbered frames per recording and a sheet with one row per expression, whose onset, apex and
offset are the frame numbers of the folder. :class:`LongVideoAdapter` turns those into :class:`LongVideo`
objects: every recording folder (one without a micro-expression still counts, for its false positives),
the frames in order, and the intervals as 0-based positions in that order, which is how a spotter that
reads the frames one after the other numbers them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from microexp.data.base import DatabaseAdapter, numbered_frames
from microexp.errors import ConfigError, DataError, DataNotFoundError


@dataclass(frozen=True)
class TrueInterval:
    """An annotated micro-expression: 0-based positions in its video's frames, both ends included."""

    onset: int
    apex: int
    offset: int
    emotion: str
    clip: str  # its name in the sheet


@dataclass(frozen=True)
class LongVideo:
    video_id: str  # "<dataset>/<recording>"
    subject: str
    folder: Path
    frames: tuple[Path, ...]
    fps: float
    intervals: tuple[TrueInterval, ...]

    def read(self) -> Iterator[tuple[int, np.ndarray | None]]:
        """(position, grey uint8 frame) one at a time; ``None`` for a frame that cannot be decoded, so a
        reader can go on past it and say which one it was."""
        for position, path in enumerate(self.frames):
            yield position, cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


class LongVideoAdapter(DatabaseAdapter):
    """An adapter whose sheet rows are expressions inside long recordings (``frames_span_recording``)."""

    frames_span_recording = True
    fps: ClassVar[float]  # the database's frame rate; a copy recorded at another rate passes ``fps=``

    def __init__(self, root=None, *, sheet=None, fps: float | None = None):
        super().__init__(root, sheet=sheet)
        if fps is not None:
            if not fps > 0:
                raise ConfigError(f"{self.title}: fps must be positive, got {fps}")
            self.fps = float(fps)

    def recording_folders(self) -> list[tuple[str, Path]]:
        """(subject, folder) of every recording of the copy, annotated or not."""
        raise NotImplementedError

    def long_videos(self) -> list[LongVideo]:
        """Every recording with its micro-expressions, in folder order."""
        by_folder: dict[Path, list[dict]] = {}
        for row in self.validated_rows():
            by_folder.setdefault(self.clip_dir(row).resolve(), []).append(row)
        videos, seen = [], set()
        for subject, folder in self.recording_folders():
            key = folder.resolve()
            seen.add(key)
            numbered = numbered_frames(folder)
            if not numbered:
                raise DataNotFoundError(f"{self.title}: recording folder {folder} holds no frame images")
            numbers = [n for n, _ in numbered]
            intervals = tuple(self._interval(row, numbers, folder) for row in by_folder.get(key, ()))
            videos.append(
                LongVideo(
                    f"{self.name}/{folder.name}",
                    subject,
                    folder,
                    tuple(p for _, p in numbered),
                    float(self.fps),
                    tuple(sorted(intervals, key=lambda i: i.onset)),
                )
            )
        missing = [row for key, rows in by_folder.items() if key not in seen for row in rows]
        if missing:
            raise DataNotFoundError(
                f"{self.where(missing[0])}: its recording folder {self.clip_dir(missing[0])} does not exist "
                f"({len(missing)} expression(s) without frames); expected layout {self.layout}"
            )
        return videos

    def _interval(self, row: dict, numbers: list[int], folder: Path) -> TrueInterval:
        onset, apex, offset = row["onset"], row["apex"], row["offset"]
        if onset is None or offset is None or not numbers[0] <= onset <= offset <= numbers[-1]:
            raise DataError(
                f"{self.where(row)}: onset–offset {onset}–{offset} is not inside the frames of {folder} "
                f"({numbers[0]}–{numbers[-1]})"
            )
        first = bisect.bisect_left(numbers, onset)  # a missing frame number: the next frame there is
        last = bisect.bisect_right(numbers, offset) - 1
        peak = first if apex is None else min(max(bisect.bisect_left(numbers, apex), first), last)
        return TrueInterval(first, peak, last, row["emotion"], row["clip"])

