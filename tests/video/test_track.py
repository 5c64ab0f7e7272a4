"""Face tracking frame by frame: frames without a face are marked, the face is found again when it returns."""

from __future__ import annotations

import numpy as np
import pytest
from face_videos import face_frames, write_frames

from microexp.errors import ConfigError
from microexp.video.track import FaceTracker, TrackerSettings, TrackLog, track_stream

PRESENT = [True] * 20 + [False] * 15 + [True] * 25


@pytest.mark.parametrize("fit_every", [1, 3])
def test_a_face_that_leaves_and_returns_is_marked_on_every_frame(fit_every, tmp_path):
    # with fit_every 3 the points are fitted on a third of the frames; the others are still checked
    video = write_frames(tmp_path / "leaves.mp4", face_frames(PRESENT), fps=30)
    settings = TrackerSettings(retry_every=5, fit_every=fit_every)
    log = TrackLog()
    for frame, face in track_stream(video, settings):
        log.add(frame.index, frame.time, face)
        if face is not None:
            assert face.crop.shape == (128, 128) and face.crop.dtype == np.uint8
            assert face.crop_landmarks.shape == (68, 2)
            inner = face.crop_landmarks[17:]  # brows to mouth: the jaw line may run below the aligned crop
            assert (inner > 0).all() and (inner < 128).all()
    found, truth = log.has_face, np.array(PRESENT)
    assert len(found) == len(truth)
    assert not (found & ~truth).any(), f"a face reported on face-less frames {np.flatnonzero(found & ~truth)}"
    assert found[:20].all()  # tracked from the first frame to the last one with the face
    back = np.flatnonzero(found[35:])
    assert len(back) and back[0] < settings.retry_every and found[35 + back[0] :].all()


def test_tracking_runs_the_detector_only_now_and_then(tmp_path):
    frames = face_frames([True] * 40)
    tracker = FaceTracker(TrackerSettings(redetect_every=25))
    faces = [tracker.update(frame) for frame in frames]
    assert all(face is not None for face in faces)
    assert tracker.detections == 2  # the first frame, then the periodic check at frame 25
    assert [i for i, face in enumerate(faces) if face.detected] == [0, 25]


def test_tracker_settings_are_checked():
    with pytest.raises(ConfigError, match="retry_every"):
        TrackerSettings(retry_every=0)
    with pytest.raises(ConfigError, match="face backend"):
        TrackerSettings(backend="haar")
