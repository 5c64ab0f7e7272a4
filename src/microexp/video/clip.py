"""A trained bundle applied to one short clip (a video file or a frame folder), read as long videos are:
streamed, the face tracked on every frame, only the frames the prediction needs kept.

The onset is given, or the first frame with a face (a face that walks in after the clip starts is found where
it appears). The apex is given, or spotted: the frame, in the onset's unbroken run of face frames, that
moved most from the onset (mean DIS flow magnitude of crops aligned by the onset's transform, as
:func:`microexp.preprocess.spotting.spot_apex` measures it); a frame without a face is never an apex. Then
the frames from onset to apex are read again and the bundle's own builders make its inputs.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import cv2
import numpy as np

from microexp.errors import ConfigError, DataError, NoFaceError
from microexp.preprocess.align import warp
from microexp.preprocess.spotting import spot_apex
from microexp.training.predict import ClipPrediction, Predictor, classify_span
from microexp.video.stream import SpilledFrames, probe
from microexp.video.track import TrackerSettings, TrackLog, paced, track_stream

# Spotting compares crops of this side: the apex is the frame of largest mean motion, which a 64 px crop
# ranks as a 128 px one does, at a quarter of the flow's cost (400 flows for a 2 s clip at 200 fps).
SPOTTING_SIZE = 64

# The apex search scores this many frames a second, then every frame within a stride of the best three
# (:func:`spot_apex`'s stride): at 200 fps a stride of 4, about 120 flows for a 2 s clip instead of 400. The 2 s
# benchmark clip and the real videos, made to strides 2–4 (scored at 6–15 frames a second), gave the same apex
# as scoring every frame; strides 6 and 8 moved WolfgangLanger_Pexels' apex (docs/results/long_video.md).
# Below 75 fps every frame is scored, as before.
SPOTTING_RATE = 50.0

# The 68 points only keep the track here (the crops are cut by the onset's transform, and every frame's crop
# is still checked against the face): fitting them 25 times a second finds the same faces, onsets, apexes
# and probabilities as 100 times on the 2 s benchmark clip and the real videos (the fastest head, in
# WolfgangLanger_Pexels.mp4, kept its track at 12 fits a second), and a fit costs 3.5 ms.
FIT_RATE = 25.0


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
    with tempfile.TemporaryDirectory(prefix="microexp-clip-") as folder:
        # the frames from the onset on go to a file as they are decoded: one pass, and memory for two frames
        spill = SpilledFrames(folder, "clip")
        log, onset, apex, apex_method = _track_clip(source, onset, apex, tracker, spill)
        frames = spill.frames()
        try:
            probabilities, facts = classify_span(
                bundle, frames, spill.indices, str(source), onset, apex, cache_dir=cache_dir
            )
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


def _track_clip(
    source: str | Path, onset: int | None, apex: int | None, tracker: TrackerSettings, spill: SpilledFrames
) -> tuple[TrackLog, int, int, str]:
    """Track the face through the clip, keeping the frames from the onset to the apex (given) or to the end of
    the onset's face run (spotting); the onset, and the apex (spotted when not given) with how it was found."""
    fps = probe(source).fps
    fit_every = max(1, int(round(fps / FIT_RATE))) if math.isfinite(fps) else 1
    spot_stride = max(1, int(round(fps / SPOTTING_RATE))) if math.isfinite(fps) else 1
    tracker = paced(tracker, fps, fit_every=fit_every)
    log = TrackLog()
    onset_matrix: np.ndarray | None = None
    crops: list[np.ndarray] = []  # onset-aligned crops of the onset's face run, for spotting
    collecting = apex is None
    for frame, face in track_stream(source, tracker):
        log.add(frame.index, frame.time, face)
        if onset_matrix is None and face is not None and (onset is None or frame.index == onset):
            onset, onset_matrix = frame.index, face.matrix
        if onset_matrix is None:
            continue
        if collecting:
            # the run of face frames after the onset: a frame without a face (or not decoded) ends it
            collecting = face is not None and (not spill.indices or frame.index == spill.indices[-1] + 1)
            if not collecting:
                break
            crop = warp(frame.grey(), onset_matrix, tracker.crop_size)  # shrinking the crop, not the frame
            crops.append(cv2.resize(crop, (SPOTTING_SIZE, SPOTTING_SIZE), interpolation=cv2.INTER_AREA))
        spill.add(frame.index, frame.grey())
        if apex is not None and frame.index >= apex:
            break  # nothing after the apex is needed
    if onset_matrix is None:
        if onset is not None and onset >= len(log):
            raise DataError(f"{source}: onset {onset} is beyond the clip's {len(log)} frames")
        where = "on any frame" if onset is None else f"on the onset frame {onset}"
        first = np.flatnonzero(log.has_face)
        hint = f"; the face first appears on frame {first[0]}" if len(first) else ""
        raise NoFaceError(
            f"{source}: no face was found {where}{hint}; predict needs a clip of one visible, roughly frontal face"
        )
    if apex is None:
        if len(crops) < 2:
            raise DataError(f"{source}: the face is seen on frame {onset} only; spotting needs frames after it")
        found = spot_apex(np.stack(crops), method="flow", stride=spot_stride)
        return log, onset, spill.indices[found.index], found.method
    if apex >= len(log):
        raise DataError(f"{source}: apex {apex} is beyond the clip's {len(log)} frames")
    run = log.face_run(onset)
    if run[1] < apex:
        raise NoFaceError(
            f"{source}: the face is lost between onset {onset} and apex {apex} (frames {run[0]}–{run[1]} have "
            "it); choose frames where it is visible"
        )
    return log, onset, apex, "given"
