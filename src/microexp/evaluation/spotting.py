"""The MEGC spotting protocol: spotted intervals against annotated ones, counted over all videos.

A spotted interval is a true positive when its intersection over union with a true interval is at least
0.5, counting frames (both ends included): ``|S ∩ G| / |S ∪ G| ≥ 0.5``. Each true interval is matched at
most once and each spotted one at most once (pairs are taken in order of decreasing IoU, so one spotted
interval overlapping two true ones takes the closer). Unmatched spotted intervals are false positives,
unmatched true ones false negatives. TP, FP and FN are summed over all videos, then precision = TP / (TP +
FP), recall = TP / (TP + FN), F1 = 2·TP / (2·TP + FP + FN), as the MEGC spotting challenges score them
(not per-video averages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from microexp.errors import DataError

HIT_IOU = 0.5


class Span(Protocol):
    onset: int
    offset: int


def interval_iou(a: Span, b: Span) -> float:
    """Intersection over union of two frame intervals, both ends included."""
    overlap = min(a.offset, b.offset) - max(a.onset, b.onset) + 1
    if overlap <= 0:
        return 0.0
    return overlap / ((a.offset - a.onset + 1) + (b.offset - b.onset + 1) - overlap)


@dataclass(frozen=True)
class VideoMatch:
    """One video's matching: ``pairs`` are (spotted index, true index, IoU) of the hits."""

    video: str
    spotted: int
    true: int
    pairs: tuple[tuple[int, int, float], ...]

    @property
    def tp(self) -> int:
        return len(self.pairs)

    @property
    def fp(self) -> int:
        return self.spotted - self.tp

    @property
    def fn(self) -> int:
        return self.true - self.tp


def match_video(video: str, spotted: Sequence[Span], true: Sequence[Span], threshold: float = HIT_IOU) -> VideoMatch:
    """Hits of one video: one-to-one pairs with IoU ≥ ``threshold``, the largest IoU first."""
    for name, spans in (("spotted", spotted), ("true", true)):
        for span in spans:
            if span.offset < span.onset:
                raise DataError(
                    f"video {video}: a {name} interval ends ({span.offset}) before it starts ({span.onset})"
                )
    candidates = sorted(
        ((interval_iou(s, t), i, j) for i, s in enumerate(spotted) for j, t in enumerate(true)),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    used_spotted: set[int] = set()
    used_true: set[int] = set()
    pairs = []
    for iou, i, j in candidates:
        if iou < threshold:
            break
        if i in used_spotted or j in used_true:
            continue
        used_spotted.add(i)
        used_true.add(j)
        pairs.append((i, j, iou))
    return VideoMatch(video, len(spotted), len(true), tuple(sorted(pairs)))


@dataclass(frozen=True)
class SpottingScores:
    tp: int
    fp: int
    fn: int
    videos: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0

    def as_dict(self) -> dict:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "videos": self.videos,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def pool(matches: Iterable[VideoMatch]) -> SpottingScores:
    """TP, FP and FN summed over the videos."""
    matches = list(matches)
    return SpottingScores(
        sum(m.tp for m in matches), sum(m.fp for m in matches), sum(m.fn for m in matches), len(matches)
    )


def score_spotting(
    spotted: Mapping[str, Sequence[Span]], true: Mapping[str, Sequence[Span]], threshold: float = HIT_IOU
) -> tuple[SpottingScores, list[VideoMatch]]:
    """Score every video of ``true`` (a video with no spotted entry spotted nothing); a spotted video that
    is not annotated is an error, not silently dropped."""
    unknown = sorted(set(spotted) - set(true))
    if unknown:
        raise DataError(
            f"spotted intervals for {len(unknown)} video(s) without annotations ({', '.join(unknown[:3])}); "
            "score against the annotation of every video spotted"
        )
    matches = [match_video(video, spotted.get(video, ()), intervals, threshold) for video, intervals in true.items()]
    return pool(matches), matches
