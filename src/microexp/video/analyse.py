"""A long video analysed in one streaming pass: every frame decoded, its face tracked, and the aligned face
handed to a spotter; then each spotted interval classified by a trained bundle, and a timeline written.

Memory stays flat however long the video: one frame is decoded at a time; the tracker and the spotter keep a
few frames; per frame only numbers are kept (time, face or not, box, spotting score). The spotter reports
its intervals at the end, so each interval's frames (onset to offset, well under a second) are read again
by seeking, into a memory-mapped file, and the bundle's own builders make its inputs from them, exactly as
for training.

A frame without a face is never an onset or an apex (the spotter never makes an interval touching one); a
frame the codec cannot decode is skipped, named in a warning and in the result, and counts as face-less.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from microexp.errors import ConfigError, DataError, NoFaceError
from microexp.files import write_json, write_text
from microexp.training.predict import Predictor, classify_span
from microexp.video.stream import VideoInfo, probe, read_span
from microexp.video.track import TrackerSettings, TrackLog, paced, track_stream

logger = logging.getLogger(__name__)

# The spotter looks at about 100 frames a second: a 0.1 s micro-expression still spans 10 of them, and a
# 200 fps video costs half the flow computations.
SPOTTING_RATE = 100.0


class SpotterLike(Protocol):
    signal: np.ndarray

    def push(self, index: int, face: np.ndarray | None, landmarks: np.ndarray | None) -> None: ...

    def finish(self) -> list[Any]: ...


@dataclass(frozen=True)
class Event:
    """One spotted interval, classified. Frames are 0-based indices of the video; times in seconds."""

    onset: int
    apex: int
    offset: int
    onset_time: float
    apex_time: float
    offset_time: float
    score: float
    label: str | None  # None when it could not be classified (``note`` says why)
    probabilities: dict[str, float]
    classified_from: int  # the frame the classifier's flow starts at (see classification_start)
    note: str = ""


@dataclass
class Analysis:
    source: str
    info: VideoInfo
    events: list[Event]
    times: np.ndarray = field(repr=False)  # per frame index, seconds (NaN: not decodable)
    has_face: np.ndarray = field(repr=False)
    boxes: np.ndarray = field(repr=False)  # (frames, 4) face box, NaN without a face
    signal: np.ndarray = field(repr=False)  # the spotter's per-frame score, NaN without a face
    threshold: float | None  # the spotter's threshold, when it reports one
    seconds: float  # wall time of the analysis
    classes: tuple[str, ...] = ()

    @property
    def frames(self) -> int:
        return len(self.has_face)

    @property
    def undecodable(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(np.isnan(self.times))]

    def face_runs(self) -> list[list[int]]:
        """[first, last] frame index of every unbroken run of frames with a face."""
        return [[first, last] for first, last in mask_runs(self.has_face)]

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "width": self.info.width,
            "height": self.info.height,
            "fps": self.info.fps,
            "frames": self.frames,
            "face_frames": int(self.has_face.sum()),
            "face_runs": self.face_runs(),
            "undecodable_frames": self.undecodable,
            "duration_s": float(np.nanmax(self.times)) if np.isfinite(self.times).any() else 0.0,
            "threshold": self.threshold,
            "analysis_s": round(self.seconds, 3),
            "events": [dataclasses.asdict(event) for event in self.events],
        }


def mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of every run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]]))
    return [(int(a), int(b) - 1) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)]


def default_spotter(fps: float, options: Mapping[str, Any]) -> SpotterLike:
    from microexp.video.spotting import Spotter

    stride = max(1, int(round(fps / SPOTTING_RATE))) if math.isfinite(fps) else 1
    return Spotter(fps, **{"stride": stride, **options})


def tracker_for(spotter: SpotterLike, tracker: TrackerSettings) -> TrackerSettings:
    """The tracker settings to feed ``spotter`` with: the points fitted as often as the spotter reads frames
    (more often would cost time for nothing), detection paced by the video's rate (:func:`paced`)."""
    return paced(tracker, float(getattr(spotter, "fps", math.nan)), fit_every=int(getattr(spotter, "stride", 1)))


def analyse_video(
    source: str | Path,
    bundle: Predictor,
    *,
    tracker: TrackerSettings = TrackerSettings(),
    spotter_options: Mapping[str, Any] | None = None,
    make_spotter: Callable[[float, Mapping[str, Any]], SpotterLike] = default_spotter,
    progress: Callable[[int, int], None] | None = None,
    cache_dir: str | Path | None = None,
) -> Analysis:
    """Spot and classify every micro-expression of the video ``source`` with ``bundle``.

    ``progress(done, total)`` follows the frames (total: the container's count, 0 when unknown). Raises
    :class:`NoFaceError` when no frame has a face."""
    clock = time.perf_counter()
    info = probe(source)
    if not math.isfinite(info.fps) or info.fps <= 0:
        raise ConfigError(f"{source}: the video declares no frame rate; analyse needs one to time the spotting")
    spotter = make_spotter(info.fps, dict(spotter_options or {}))
    tracker = tracker_for(spotter, tracker)
    log = TrackLog()
    for frame, face in track_stream(source, tracker):
        log.add(frame.index, frame.time, face)
        if face is None:
            spotter.push(frame.index, None, None)
        else:
            spotter.push(frame.index, face.crop, face.crop_landmarks)
        if progress is not None and frame.index % 50 == 0:
            progress(frame.index + 1, info.frames)
    if progress is not None:
        progress(len(log), len(log))
    if len(log) < 2:
        # a still image decodes as a one-frame "video": nothing can move in it, so no interval could be found
        raise DataError(f"{source}: it holds {len(log)} frame(s); analyse needs a video of a face, not a still image")
    has_face, times = log.has_face, log.times.copy()
    if not has_face.any():
        raise NoFaceError(
            f"{source}: no face was found on any of its {len(log)} frames; analyse needs a video of one "
            "visible, roughly frontal face"
        )
    intervals = spotter.finish()
    # how far back the spotter compares a frame (k processed frames of stride each), when it says
    reach = int(getattr(spotter, "k", 0)) * int(getattr(spotter, "stride", 1))
    events = []
    with tempfile.TemporaryDirectory(prefix="microexp-span-") as folder:
        for interval in intervals:
            events.append(classify_interval(source, bundle, interval, reach, times, has_face, folder, cache_dir))
    threshold = spotter.threshold() if callable(getattr(spotter, "threshold", None)) else None
    return Analysis(
        source=str(source),
        info=info,
        events=events,
        times=times,
        has_face=has_face,
        boxes=log.boxes.copy(),
        signal=np.asarray(spotter.signal, dtype=float),
        threshold=threshold,
        seconds=time.perf_counter() - clock,
        classes=tuple(bundle.classes),
    )


def classification_start(onset: int, apex: int, reach: int, has_face: np.ndarray) -> int:
    """The frame the classifier's motion is measured from: the interval's onset, or earlier when the spotter saw
    the change against a frame further back (``reach`` frames before the apex: a short interval at a low frame
    rate can have its onset on its apex, and the flow from a frame to itself is nothing), never before the
    face's run of frames begins."""
    start = min(onset, apex - reach)
    while start < onset and not has_face[start:onset].all():
        start += 1
    return max(start, 0)


def classify_interval(
    source: str | Path, bundle: Predictor, interval: Any, reach: int, times: np.ndarray, has_face: np.ndarray,
    folder: str | Path, cache_dir: str | Path | None = None,
) -> Event:
    """One spotted interval (``onset``, ``apex``, ``offset``, ``score``; frame indices of ``source``) classified
    by ``bundle``: its frames read again into ``folder`` and the bundle's inputs built from them. ``times`` and
    ``has_face`` are per frame index; ``reach`` as for :func:`classification_start`. An interval whose start
    frame the bundle's face detector misses comes back unlabelled, with a note, rather than stopping the run."""
    onset, apex, offset = int(interval.onset), int(interval.apex), int(interval.offset)
    if not has_face[onset : offset + 1].all():
        # the spotter promises never to do this; a timeline with a face-less onset would mislead
        raise AssertionError(f"{source}: the spotter gave interval {onset}–{offset}, which holds a face-less frame")
    start = classification_start(onset, apex, reach, has_face)
    timing = {"onset_time": float(times[onset]), "apex_time": float(times[apex]), "offset_time": float(times[offset])}
    frames, numbers = read_span(source, times, start, offset, folder)
    try:
        probabilities, _ = classify_span(bundle, frames, numbers, str(source), start, apex, offset, cache_dir=cache_dir)
    except NoFaceError:
        note = f"the bundle's {bundle.input_settings.face_backend} face detector found no face on frame {start}"
        logger.warning("%s: interval %d–%d not classified: %s", source, onset, offset, note)
        score = float(interval.score)
        return Event(onset, apex, offset, **timing, score=score, label=None, probabilities={}, note=note,
                     classified_from=start)
    finally:
        del frames
    return Event(
        onset, apex, offset, **timing, score=float(interval.score),
        label=max(probabilities, key=probabilities.get), probabilities=probabilities, classified_from=start,
    )


TIMELINE_COLUMNS = (
    "onset", "apex", "offset", "onset_time", "apex_time", "offset_time", "score", "classified_from", "label"
)


def write_timeline(analysis: Analysis, out: str | Path) -> tuple[Path, Path]:
    """``timeline.csv`` (one row per interval, one ``p_<class>`` column per class) and ``timeline.json`` (the
    same intervals plus the video's facts) in the folder ``out``."""
    out = Path(out)
    header = [*TIMELINE_COLUMNS, *(f"p_{name}" for name in analysis.classes), "note"]
    lines = [",".join(header)]
    for event in analysis.events:
        cells = [
            str(event.onset), str(event.apex), str(event.offset),
            f"{event.onset_time:.4f}", f"{event.apex_time:.4f}", f"{event.offset_time:.4f}",
            f"{event.score:.4f}", str(event.classified_from), event.label or "",
            *(f"{event.probabilities[name]:.4f}" if name in event.probabilities else "" for name in analysis.classes),
            f'"{event.note}"' if event.note else "",
        ]
        lines.append(",".join(cells))
    csv_path = write_text(out / "timeline.csv", "\n".join(lines) + "\n")
    json_path = write_json(out / "timeline.json", analysis.summary())
    return csv_path, json_path
