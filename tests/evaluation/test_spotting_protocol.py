"""The MEGC spotting protocol on cases computed by hand."""

from __future__ import annotations

import pytest

from microexp.errors import DataError
from microexp.evaluation.spotting import interval_iou, match_video, score_spotting
from microexp.video.spotting import Interval


def span(onset: int, offset: int) -> Interval:
    return Interval(onset, onset, offset, 1.0)


@pytest.mark.parametrize(
    ("spotted", "iou"),
    [
        ((15, 24), 5 / 15),  # frames 15-19 shared, 10-24 covered
        ((12, 21), 8 / 12),
        ((10, 29), 10 / 20),  # exactly 0.5: a hit
        ((20, 30), 0.0),  # touching is not overlapping
        ((10, 19), 1.0),
    ],
)
def test_iou_counts_frames_with_both_ends_included(spotted, iou):
    assert interval_iou(span(*spotted), span(10, 19)) == pytest.approx(iou)


def test_a_hit_needs_iou_of_at_least_one_half():
    assert match_video("v", [span(10, 29)], [span(10, 19)]).tp == 1
    assert match_video("v", [span(15, 24)], [span(10, 19)]).tp == 0


def test_each_true_interval_is_matched_once():
    match = match_video("v", [span(10, 19), span(11, 20)], [span(10, 19)])
    assert (match.tp, match.fp, match.fn) == (1, 1, 0)
    assert match.pairs == ((0, 0, 1.0),)


def test_pairs_are_taken_by_decreasing_iou():
    # S1 = A exactly; S2 overlaps A (7/13) and B (8/12): both become hits
    match = match_video("v", [span(0, 9), span(3, 12)], [span(0, 9), span(5, 14)])
    assert [(i, j) for i, j, _ in match.pairs] == [(0, 0), (1, 1)]


def test_counts_are_pooled_over_videos_not_averaged():
    scores, matches = score_spotting(
        {"a": [span(10, 19), span(40, 49)]}, {"a": [span(10, 19)], "b": [span(0, 9), span(30, 39)]}
    )
    assert (scores.tp, scores.fp, scores.fn, scores.videos) == (1, 1, 2, 2)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.f1 == pytest.approx(2 / 5)
    assert [m.video for m in matches] == ["a", "b"]


def test_spotting_a_video_without_annotation_is_an_error():
    with pytest.raises(DataError, match="without annotations"):
        score_spotting({"x": [span(0, 3)]}, {"a": []})
