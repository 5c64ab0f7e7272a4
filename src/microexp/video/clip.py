"""A trained bundle applied to one short clip (a video file or a frame folder), read as long videos are:
streamed, the face tracked on every frame, only the frames the prediction needs kept.

The onset is given, or the first frame with a face (a face that walks in after the clip starts is found where
it appears). The apex is given, or spotted: the frame, in the onset's unbroken run of face frames, that
moved most from the onset (mean DIS flow magnitude of crops aligned by the onset's transform, as
:func:`microexp.preprocess.spotting.spot_apex` measures it); a frame without a face is never an apex. Then
the frames from onset to apex are read again and the bundle's own builders make its inputs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from microexp.errors import ConfigError, DataError, NoFaceError
from microexp.preprocess.align import warp
from microexp.preprocess.spotting import spot_apex
from microexp.training.predict import ClipPrediction, Predictor, classify_span
from microexp.video.stream import read_span
from microexp.video.track import TrackerSettings, TrackLog, track_stream


def predict_video(
    bundle: Predictor,
    source: str | Path,
    *,
    onset: int | None = None,
    apex: int | None = None,
    spot: bool = False,
    tracker: TrackerSettings = TrackerSettings(),
    cache_dir: str | Path | None = None,
) -> ClipPrediction:
    """Class probabilities of the clip ``source``; ``onset`` and ``apex`` are a video's 0-based frame
    indices or a folder's frame numbers. Give ``apex``, or ``spot``."""
    if spot == (apex is not None):
        raise ConfigError("give --onset and --apex, or --spot (with an optional --onset) to find the apex")
    if not spot and onset is None:
        raise ConfigError("--apex needs --onset: the flow goes from the onset frame to the apex frame")
    if onset is not None and apex is not None and apex < onset:
        raise DataError(f"{source}: apex {apex} comes before onset {onset}")
    log = TrackLog()
    onset_matrix: np.ndarray | None = None
    crops: list[np.ndarray] = []  # onset-aligned crops of the onset's face run, for spotting
    crop_indices: list[int] = []
    collecting = spot
    for frame, face in track_stream(source, tracker):
        log.add(frame.index, frame.time, face)
        if onset_matrix is None and face is not None and (onset is None or frame.index == onset):
            onset, onset_matrix = frame.index, face.matrix
        if onset_matrix is not None and collecting:
            collecting = face is not None and (not crop_indices or frame.index == crop_indices[-1] + 1)
            if collecting:  # until the run of face frames after the onset ends
                crops.append(warp(frame.grey(), onset_matrix, tracker.crop_size))
                crop_indices.append(frame.index)
        if apex is not None and frame.index >= apex:
            break  # nothing after the apex is needed
    has_face = log.has_face
    if onset is None or onset_matrix is None:
        where = f"on the onset frame {onset}" if onset is not None and onset < len(log) else "on any frame"
        if onset is not None and onset >= len(log):
            raise DataError(f"{source}: onset {onset} is beyond the clip's {len(log)} frames")
        first = np.flatnonzero(has_face)
        hint = f"; the face first appears on frame {first[0]}" if len(first) else ""
        raise NoFaceError(
            f"{source}: no face was found {where}{hint}; predict needs a clip of one visible, roughly frontal face"
        )
    apex_method = "given"
    if apex is None:
        if len(crops) < 2:
            raise DataError(f"{source}: the face is seen on frame {onset} only; spotting needs frames after it")
        found = spot_apex(np.stack(crops), method="flow")
        apex, apex_method = crop_indices[found.index], found.method
    elif apex >= len(log):
        raise DataError(f"{source}: apex {apex} is beyond the clip's {len(log)} frames")
    elif not has_face[apex] or log.face_run(onset)[1] < apex:
        raise NoFaceError(
            f"{source}: the face is lost between onset {onset} and apex {apex} (frames "
            f"{log.face_run(onset)[0]}–{log.face_run(onset)[1]} have it); choose frames where it is visible"
        )
    with tempfile.TemporaryDirectory(prefix="microexp-span-") as folder:
        frames, numbers = read_span(source, log.times, onset, apex, folder)
        try:
            probabilities, facts = classify_span(bundle, frames, numbers, str(source), onset, apex, cache_dir=cache_dir)
        except NoFaceError:
            raise NoFaceError(
                f"{source}: the bundle's {bundle.input_settings.face_backend} face detector found no face on the "
                f"onset frame {onset} (the tracker did); predict needs one visible, roughly frontal face"
            ) from None
        del frames  # the memory map, before its folder goes
    box = facts.get("face_box", log.boxes[onset].tolist())
    return ClipPrediction(
        source=str(source),
        face_box=tuple(float(v) for v in box),
        onset=int(onset),
        apex=int(apex),
        apex_method=apex_method,
        label=max(probabilities, key=probabilities.get),
        probabilities=probabilities,
    )
