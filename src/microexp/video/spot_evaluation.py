"""Spotting as a method of its own, scored against annotated long videos with the MEGC protocol.

Each long video's frames are read one at a time, the face tracked on every frame (:mod:`microexp.video.track`)
and the tracked crops pushed to the spotter that ``analyse`` uses (:func:`microexp.video.analyse.default_spotter`,
so what is scored here is what ``analyse`` spots). The spotted intervals are matched to the annotated
micro-expressions (:mod:`microexp.evaluation.spotting`: IoU ≥ 0.5, counts pooled over all videos).

Signals are kept per video, so :func:`rescore` can apply another :class:`~microexp.video.spotting.IntervalRule`
without tracking again: that is how thresholds are chosen on training videos (never on evaluated ones).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microexp.data.base import frame_number
from microexp.data.long_videos import LongVideo, TrueInterval
from microexp.evaluation.spotting import SpottingScores, VideoMatch, score_spotting
from microexp.files import atomic_path, write_json
from microexp.training.predict import Predictor
from microexp.video.analyse import Event, classify_interval, default_spotter, tracker_for
from microexp.video.spotting import Interval, IntervalRule
from microexp.video.track import FaceTracker, TrackerSettings


@dataclass
class SpottedVideo:
    video: LongVideo
    intervals: list[Interval]
    signal: np.ndarray = field(repr=False)  # per frame, NaN without a face
    eye_signal: np.ndarray = field(repr=False)
    distance: int  # the spotter's least distance between peaks, in frames
    rule: IntervalRule
    undecodable: list[int]  # positions of frames that could not be read
    seconds: float  # reading, tracking and spotting
    spotter_seconds: float  # the spotter's share (push and finish)

    @property
    def face_frames(self) -> int:
        return int(np.isfinite(self.signal).sum())


def spot_video(
    video: LongVideo,
    spotter_options: Mapping[str, Any] | None = None,
    tracker: TrackerSettings = TrackerSettings(),
    progress: Callable[[int], None] | None = None,
) -> SpottedVideo:
    """Track and spot one long video; ``progress(frames_done)`` every 100 frames."""
    start = time.perf_counter()
    spotter = default_spotter(video.fps, dict(spotter_options or {}))
    face_tracker = FaceTracker(tracker_for(spotter, tracker))
    undecodable = []
    spotting = 0.0
    for position, frame in video.read():
        face = None
        if frame is None:  # an unreadable frame: the spotter counts it as face-less, and it is reported
            undecodable.append(position)
        else:
            face = face_tracker.update(frame)
        tick = time.perf_counter()
        spotter.push(position, *((face.crop, face.crop_landmarks) if face is not None else (None, None)))
        spotting += time.perf_counter() - tick
        if progress and (position + 1) % 100 == 0:
            progress(position + 1)
    tick = time.perf_counter()
    intervals = spotter.finish()
    spotting += time.perf_counter() - tick
    return SpottedVideo(
        video,
        intervals,
        spotter.signal,
        spotter.eye_signal,
        spotter.k * spotter.stride,
        spotter.rule,
        undecodable,
        time.perf_counter() - start,
        spotting,
    )


@dataclass
class SpottingEvaluation:
    scores: SpottingScores
    matches: list[VideoMatch]
    videos: list[SpottedVideo]


def score_videos(videos: Sequence[SpottedVideo]) -> SpottingEvaluation:
    scores, matches = score_spotting(
        {v.video.video_id: v.intervals for v in videos}, {v.video.video_id: v.video.intervals for v in videos}
    )
    return SpottingEvaluation(scores, matches, list(videos))


def rescore(videos: Sequence[SpottedVideo], rule: IntervalRule) -> SpottingEvaluation:
    """The videos' stored signals turned into intervals by ``rule`` instead, and scored."""
    again = [
        dataclasses.replace(v, intervals=rule.intervals(v.signal, v.eye_signal, v.video.fps, v.distance), rule=rule)
        for v in videos
    ]
    return score_videos(again)


def evaluate_spotting(
    videos: Sequence[LongVideo],
    spotter_options: Mapping[str, Any] | None = None,
    tracker: TrackerSettings = TrackerSettings(),
    progress: Callable[[int, int], None] | None = None,
    resume_dir: str | Path | None = None,
) -> SpottingEvaluation:
    """Spot every video and score them together; ``progress(frames_done, frames_total)``. With
    ``resume_dir``, each video's signals are kept there as it is done, and a video already done with the same
    options and frames is read back instead of tracked again: an interrupted evaluation goes on where it
    stopped."""
    total = sum(len(v.frames) for v in videos)
    done = 0
    spotted = []
    for video in videos:
        report = (lambda n, base=done: progress(base + n, total)) if progress else None
        record = _record_path(resume_dir, video) if resume_dir is not None else None
        key = {"options": dict(spotter_options or {}), "tracker": dataclasses.asdict(tracker),
               "frames": [str(p) for p in (video.frames[0], video.frames[-1])], "count": len(video.frames)}
        result = _read_record(record, video, key) if record is not None else None
        if result is None:
            result = spot_video(video, spotter_options, tracker, report)
            if record is not None:
                _write_record(record, result, key)
        spotted.append(result)
        done += len(video.frames)
        if progress:
            progress(done, total)
    return score_videos(spotted)


@dataclass(frozen=True)
class ClassifiedHit:
    """A spotted interval that hit a true micro-expression, and how the bundle classified it."""

    video_id: str
    true: TrueInterval
    event: Event  # frame numbers of the video's folder; ``label`` None when it could not be classified


def classify_hits(
    evaluation: SpottingEvaluation,
    bundle: Predictor,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ClassifiedHit]:
    """Every hit of ``evaluation`` classified by ``bundle`` exactly as ``analyse`` classifies a spotted interval
    (:func:`microexp.video.analyse.classify_interval`), so the labels of the hits measure the whole ``analyse``
    path; ``progress(done, total)`` per hit."""
    total = sum(m.tp for m in evaluation.matches)
    hits: list[ClassifiedHit] = []
    with tempfile.TemporaryDirectory(prefix="microexp-span-") as folder:
        for video, match in zip(evaluation.videos, evaluation.matches, strict=True):
            # the spotter numbers frames by position; a folder source is read by the numbers in the file names
            numbers = np.asarray([frame_number(path) for path in video.video.frames])
            has_face = np.zeros(int(numbers.max()) + 1, dtype=bool)
            has_face[numbers] = np.isfinite(video.signal)
            times = np.full(len(has_face), np.nan)
            times[numbers] = np.arange(len(numbers)) / video.video.fps
            for i, j, _ in match.pairs:
                spotted = video.intervals[i]
                interval = Interval(
                    int(numbers[spotted.onset]), int(numbers[spotted.apex]), int(numbers[spotted.offset]), spotted.score
                )
                # the spotter's reach (k processed frames of stride each) is what it keeps as ``distance``
                event = classify_interval(video.video.folder, bundle, interval, video.distance, times, has_face,
                                          folder, cache_dir)
                hits.append(ClassifiedHit(video.video.video_id, video.video.intervals[j], event))
                if progress:
                    progress(len(hits), total)
    return hits


def _record_path(folder: str | Path, video: LongVideo) -> Path:
    return Path(folder) / (video.video_id.replace("/", "__") + ".npz")


def _write_record(path: Path, spotted: SpottedVideo, key: dict) -> None:
    with atomic_path(path) as temporary:
        np.savez(
            temporary,
            signal=spotted.signal,
            eye_signal=spotted.eye_signal,
            undecodable=np.asarray(spotted.undecodable, dtype=np.int64),
            meta=json.dumps({"key": key, "distance": spotted.distance, "rule": dataclasses.asdict(spotted.rule),
                             "seconds": spotted.seconds, "spotter_seconds": spotted.spotter_seconds}),
        )


def _read_record(path: Path, video: LongVideo, key: dict) -> SpottedVideo | None:
    """The video's kept result, or None when there is none or it was made otherwise (a damaged record too)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as record:
            meta = json.loads(str(record["meta"]))
            signal, eyes, undecodable = record["signal"], record["eye_signal"], record["undecodable"]
    except (OSError, ValueError, KeyError):
        return None
    if meta["key"] != json.loads(json.dumps(key)) or len(signal) != len(video.frames):
        return None
    rule = IntervalRule(**meta["rule"])
    intervals = rule.intervals(signal, eyes, video.fps, meta["distance"])
    return SpottedVideo(video, intervals, signal, eyes, meta["distance"], rule, [int(i) for i in undecodable],
                        meta["seconds"], meta["spotter_seconds"])


def write_evaluation(out: str | Path, evaluation: SpottingEvaluation) -> Path:
    """``intervals.csv`` (every spotted interval, whether it hit, and every missed true one) and
    ``scores.json`` (the pooled counts and the per-video ones) under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "intervals.csv") as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "kind", "onset", "apex", "offset", "score", "matched", "iou"])
        for video, match in zip(evaluation.videos, evaluation.matches, strict=True):
            hits = {i: (j, iou) for i, j, iou in match.pairs}
            found = {j for _, j, _ in match.pairs}
            for i, spotted in enumerate(video.intervals):
                j, iou = hits.get(i, (None, 0.0))
                matched = video.video.intervals[j].clip if j is not None else ""
                row = [spotted.onset, spotted.apex, spotted.offset, f"{spotted.score:.4f}", matched, f"{iou:.3f}"]
                writer.writerow([video.video.video_id, "spotted", *row])
            for j, true in enumerate(video.video.intervals):
                if j not in found:
                    row = [true.onset, true.apex, true.offset, "", true.clip, ""]
                    writer.writerow([video.video.video_id, "missed", *row])
    write_json(
        out / "scores.json",
        {
            **evaluation.scores.as_dict(),
            "rule": evaluation.videos[0].rule.__dict__ if evaluation.videos else {},
            "per_video": [
                {
                    "video": v.video.video_id,
                    "frames": len(v.video.frames),
                    "face_frames": v.face_frames,
                    "undecodable": v.undecodable,
                    "tp": m.tp,
                    "fp": m.fp,
                    "fn": m.fn,
                    "seconds": round(v.seconds, 2),
                }
                for v, m in zip(evaluation.videos, evaluation.matches, strict=True)
            ],
        },
    )
    return out
