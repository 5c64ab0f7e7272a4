"""The streaming spotter on rendered faces whose micro-expression interval is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexp.data.synthetic_render import (
    SyntheticSettings,
    _grid,
    _raised_cosine,
    expression_field,
    make_subjects,
)
from microexp.errors import ConfigError, DataError
from microexp.evaluation.spotting import interval_iou
from microexp.preprocess.align import alignment_matrix, warp
from microexp.preprocess.faces import Face
from microexp.video.spotting import Interval, Spotter, parse_options

FPS = 200


CROP = 128


@pytest.fixture(scope="module")
def subject():
    return make_subjects(SyntheticSettings(), numbers=[1])[0]


def alignment(subject) -> np.ndarray:
    return alignment_matrix(Face(np.zeros(4), 1.0, subject.landmarks, "ibug68"), CROP)


@pytest.fixture(scope="module")
def crop_landmarks(subject):
    matrix = alignment(subject)
    return subject.landmarks @ matrix[:, :2].T + matrix[:, 2]


def render(subject, length: int, events: list[tuple[str, int, int, int]], seed: int = 0):
    """Aligned grey face crops (as the tracker hands them on) of ``subject`` with an expression of 1.5 px
    between each (onset, apex, offset) frames, sensor noise and a small head sway the alignment leaves."""
    matrix = alignment(subject)
    grey = cv2.cvtColor(subject.neutral, cv2.COLOR_RGB2GRAY)
    x, y = _grid(grey.shape[0])
    t = np.arange(length, dtype=np.float64)
    fields = [(expression_field(subject, name, np.random.default_rng(seed)), _raised_cosine(t, a, b, c))
              for name, a, b, c in events]
    noise = np.random.default_rng(seed)
    for i in range(length):
        shift = 0.8 * np.sin(2 * np.pi * 0.6 * i / FPS)
        motion = sum((1.5 * course[i] * field for field, course in fields), np.zeros((*grey.shape, 2), np.float32))
        frame = cv2.remap(grey, (x - shift - motion[..., 0]).astype(np.float32),
                          (y - motion[..., 1]).astype(np.float32), cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        frame = np.clip(frame + 2.0 * noise.standard_normal(frame.shape), 0, 255).astype(np.uint8)
        yield warp(frame, matrix, CROP)


@pytest.mark.parametrize("expression", ["surprise", "positive", "negative"])
def test_spots_the_known_interval_and_nothing_else(subject, crop_landmarks, expression):
    spotter = Spotter(FPS)
    for index, frame in enumerate(render(subject, 500, [(expression, 250, 266, 300)])):
        spotter.push(index, frame, crop_landmarks)
    intervals = spotter.finish()
    assert len(intervals) == 1, intervals
    assert 250 <= intervals[0].apex <= 300
    assert interval_iou(intervals[0], Interval(250, 266, 300, 1.0)) >= 0.5  # a hit by the MEGC protocol
    assert spotter.signal.shape == (500,) and np.isfinite(spotter.signal).all()


def test_no_interval_touches_a_frame_without_a_face(subject, crop_landmarks):
    # the face leaves in the middle of an expression and comes back during another
    spotter = Spotter(FPS)
    frames = render(subject, 700, [("positive", 180, 196, 230), ("surprise", 300, 316, 350),
                                   ("negative", 560, 576, 610)])
    gone = range(320, 420)
    for index, frame in enumerate(frames):
        face = None if index in gone else frame
        spotter.push(index, face, None if face is None else crop_landmarks)
    signal = spotter.signal
    assert np.isnan(signal[320:420]).all() and np.isfinite(signal[:320]).all() and np.isfinite(signal[420:]).all()
    intervals = spotter.finish()
    assert all(i.offset < 320 or i.onset >= 420 for i in intervals), intervals
    assert any(180 <= i.apex <= 230 for i in intervals) and any(560 <= i.apex <= 610 for i in intervals)


def test_missing_frame_indices_count_as_frames_without_a_face(subject, crop_landmarks):
    spotter = Spotter(FPS)
    frames = list(render(subject, 120, []))
    for index, frame in enumerate(frames):
        if index != 60:  # a frame that could not be decoded is never pushed
            spotter.push(index, frame, crop_landmarks)
    assert np.isnan(spotter.signal[60]) and np.isfinite(spotter.signal[59]) and np.isfinite(spotter.signal[61])


def test_refuses_crops_of_another_size_and_frames_out_of_order(subject):
    spotter = Spotter(FPS)
    spotter.push(0, np.zeros((96, 96), np.uint8), subject.landmarks * 0.5)
    with pytest.raises(DataError, match="frame 1: face crop"):
        spotter.push(1, np.zeros((80, 80), np.uint8), subject.landmarks * 0.5)
    with pytest.raises(DataError, match="push frames in order"):
        spotter.push(0, None, None)


def test_options_are_parsed_by_their_defaults_type():
    assert parse_options(["min_score=0.2", "stride=3"]) == {"min_score": 0.2, "stride": 3}
    with pytest.raises(ConfigError, match="expected int"):
        parse_options(["stride=1.5"])
    with pytest.raises(ConfigError, match="NAME one of"):
        parse_options(["fps=200"])
