"""Tracking and spotting a generated long video: a corrupt frame, a face that leaves and returns; its hits
classified as ``analyse`` classifies an interval."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from face_videos import linear_bundle

from microexp.data.base import frame_number
from microexp.data.synthetic_long import LongVideoSettings, SyntheticLongVideos, write_long_videos
from microexp.training.bundle import load_bundle
from microexp.video import analyse, spot_evaluation
from microexp.video.spot_evaluation import classify_hits, evaluate_spotting, rescore, score_videos, spot_video
from microexp.video.spotting import IntervalRule


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """A generated long video whose frame at the first micro-expression's apex is damaged, spotted."""
    settings = LongVideoSettings(videos=1, seconds=8, fps=100, micro_expressions=2, head_turns=0,
                                 macro_expressions=0, face_absences=1, blinks_per_minute=0, seed=11)
    root = write_long_videos(tmp_path_factory.mktemp("long"), settings)
    (video,) = SyntheticLongVideos(root).long_videos()
    video.frames[video.intervals[0].apex].write_bytes(b"not a jpeg")
    return root, video, spot_video(video)


def test_a_corrupt_frame_is_reported_and_never_inside_an_interval(copy):
    root, video, spotted = copy
    broken = video.intervals[0].apex
    assert spotted.undecodable == [broken]
    assert np.isnan(spotted.signal[broken])
    assert all(not i.onset <= broken <= i.offset for i in spotted.intervals)
    # the other micro-expression is still found
    other = video.intervals[1]
    assert any(i.onset <= other.apex <= i.offset for i in spotted.intervals), spotted.intervals


def test_no_interval_on_the_frames_the_face_is_away(copy):
    root, video, spotted = copy
    ((first, last),) = json.loads((root / "synthetic_long.json").read_text())["videos"]["001_1"]["face_absent"]
    # the tracker loses the face while it is away, give or take a frame at each edge: it notices the face leave
    # one frame late at most (its crop check), and the generator calls a face away until 75% of its landmark
    # box is in view, which the tracker's fitted points (75% inside the frame) can reach a frame earlier
    assert np.isnan(spotted.signal[first + 1 : last]).all()
    # however low the threshold, no interval reaches a face-less frame
    for interval in rescore([spotted], IntervalRule(min_score=0.0, mad_factor=0.0)).videos[0].intervals:
        assert np.isfinite(spotted.signal[interval.onset : interval.offset + 1]).all(), interval


def test_an_evaluation_resumes_from_the_videos_it_has_done(copy, tmp_path, monkeypatch):
    root, video, _ = copy
    first = evaluate_spotting([video], resume_dir=tmp_path)

    def no_tracking(*args, **kwargs):
        raise AssertionError("a video already done was tracked again")

    monkeypatch.setattr(spot_evaluation, "FaceTracker", no_tracking)
    again = evaluate_spotting([video], resume_dir=tmp_path)
    assert again.videos[0].intervals == first.videos[0].intervals
    assert again.videos[0].undecodable == first.videos[0].undecodable
    np.testing.assert_array_equal(again.videos[0].signal, first.videos[0].signal)
    # other options are another evaluation: the video is spotted again
    with pytest.raises(AssertionError, match="tracked again"):
        evaluate_spotting([video], {"min_score": 0.3}, resume_dir=tmp_path)


def test_each_hit_is_classified_from_its_own_frames_as_analyse_does(copy, tmp_path, monkeypatch):
    root, video, spotted = copy
    evaluation = score_videos([spotted])
    assert evaluation.scores.tp >= 1, evaluation.matches
    seen = []

    def recording(bundle, frames, numbers, *args, **kwargs):
        seen.append((np.array(frames), list(numbers)))
        return classify_span(bundle, frames, numbers, *args, **kwargs)

    classify_span = analyse.classify_span
    monkeypatch.setattr(analyse, "classify_span", recording)
    hits = classify_hits(evaluation, load_bundle(linear_bundle(tmp_path / "bundle")))

    assert len(hits) == evaluation.scores.tp == len(seen)
    for hit, (i, j, _), (frames, numbers) in zip(hits, evaluation.matches[0].pairs, seen, strict=True):
        interval = spotted.intervals[i]
        assert hit.true == video.intervals[j]
        # the event names the folder's frame numbers of the spotted positions (the generator numbers from 1)
        positions = (interval.onset, interval.apex, interval.offset)
        assert [frame_number(video.frames[p]) for p in positions] == [p + 1 for p in positions]
        assert [hit.event.onset, hit.event.apex, hit.event.offset] == [p + 1 for p in positions]
        assert hit.event.label in ("negative", "positive", "surprise")
        assert sum(hit.event.probabilities.values()) == pytest.approx(1.0)
        # the classifier was given exactly the images of the interval, from the frame its motion starts at
        assert numbers == list(range(hit.event.classified_from, hit.event.offset + 1))
        assert hit.event.classified_from <= hit.event.onset
        on_disk = [cv2.imread(str(video.frames[n - 1]), cv2.IMREAD_GRAYSCALE) for n in numbers]
        np.testing.assert_array_equal(frames, np.stack(on_disk))
