"""Synthetic long videos for spotting: tens of seconds of a face with micro-expressions at known intervals
among the things that are not micro-expressions, written as a copy of SAMM long videos.

Each video shows one synthetic identity (:func:`microexp.data.synthetic_render.make_subjects`) for
``seconds`` at ``fps``. Micro-expressions are the demo's AU-like displacement fields (positive, negative,
surprise; ``amplitude`` pixels at the apex, 0.1–0.5 s from onset to offset), placed at random times with a
known class. Around them, drawn independently of them:

- blinks (``blinks_per_minute``, 0.08–0.15 s each): the eyelids close on a micro-expression's time scale;
- head turns (``head_turns``): 0.8–2 s out and back, a rotation of 3–6°, a shift of 5–15 px and a
  horizontal squeeze to 92–96% (the 2-D trace of a yaw);
- macro expressions (``macro_expressions``): the same fields at 3–5 px, 0.5–1.5 s up and as long down;
- lighting flicker (``flicker``, relative, 3–15 Hz) and sensor noise (``noise`` grey levels);
- the face leaving the frame and coming back (``face_absences``): a 0.3 s slide out sideways, 1–2 s
  without a face, a slide back.

Micro-expressions keep 0.3 s clear of every other event, so each is a clean truth. With ``amplitude=0``
nothing but the distractors moves: the control on which a spotter should find (almost) nothing. The draws
do not depend on the amplitude, so the control has the very same distractors.

Written layout (what :class:`microexp.data.samm_long.SAMMLong` reads; :class:`SyntheticLongVideos` reads
it at the manifest's frame rate): ``SAMM_LongVideos_V3_Release.xlsx``
with the micro-expressions (``Micro - 1/2``) and macro expressions (``Macro``), an extra ``Estimated
Emotion`` column, and ``SAMM_longvideos/<subject>_1/<subject>_1_<frame>.jpg`` grey frames numbered from 1.
``synthetic_long.json`` records the settings and every event of every video (the distractors included)
with the frames on which the face is out of view.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from microexp.data.samm_long import FRAMES, HEADER_ROW, MICRO, SHEET_NAME, SHEETS, SAMMLong
from microexp.data.synthetic import SyntheticMicroExpressions
from microexp.data.synthetic_render import (
    CLASSES,
    EXPRESSIONS,
    Subject,
    SyntheticSettings,
    _grid,
    _raised_cosine,
    blink_field,
    expression_field,
    make_subjects,
)
from microexp.errors import ConfigError, DataNotFoundError
from microexp.files import atomic_path, write_image, write_json

MANIFEST = "synthetic_long.json"
FORMAT_VERSION = 1
CLEARANCE = 0.3  # seconds kept free of other events around each micro-expression
SLIDE = 0.3  # seconds the face takes to leave the frame or come back


@dataclass(frozen=True)
class LongVideoSettings:
    """Everything that changes the generated long videos; the manifest records all of it."""

    videos: int = 4
    seconds: float = 20.0
    fps: int = 200
    frame_size: int = 192  # the face box is about 60% of it (dlib's HOG needs 80 px)
    micro_expressions: int = 5  # per video
    amplitude: float = 1.5  # pixels at the apex; 0: the control
    blinks_per_minute: float = 15.0
    head_turns: int = 2  # per video
    macro_expressions: int = 1  # per video
    face_absences: int = 1  # per video
    flicker: float = 0.02
    noise: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.videos < 1 or self.seconds < 5 or self.fps < 25 or self.frame_size < 128:
            raise ConfigError(
                "long videos need videos >= 1, seconds >= 5, fps >= 25 and frame_size >= 128; got "
                f"{self.videos}, {self.seconds}, {self.fps}, {self.frame_size}"
            )
        if not 0 <= self.amplitude <= 5:
            raise ConfigError(f"amplitude {self.amplitude} px is outside 0-5: micro-expressions move a few pixels")
        counts = (self.micro_expressions, self.head_turns, self.macro_expressions, self.face_absences)
        if min(counts) < 0 or self.blinks_per_minute < 0 or self.seed < 0:
            raise ConfigError("event counts, the blink rate and the seed must be at least 0")


@dataclass(frozen=True)
class Event:
    """One thing that happens in a video, in frames (0-based, both ends included)."""

    kind: str  # "micro", "macro", "blink", "head_turn", "absence"
    onset: int
    apex: int
    offset: int
    expression: str = ""  # the class, for micro and macro expressions


def plan_video(settings: LongVideoSettings, rng: np.random.Generator) -> list[Event]:
    """The events of one video at random times, each seen on its own: 0.2 s apart, and micro-expressions
    ``CLEARANCE`` apart from everything. The longest kinds are placed first, so they find room."""
    fps, total = settings.fps, settings.seconds
    busy: list[tuple[float, float, bool]] = []  # start, end, is a micro-expression
    events = []

    def place(kind: str, length: float, peak: float, expression: str = "") -> None:
        micro = kind == "micro"
        for _ in range(500):
            start = rng.uniform(0.5, total - length - 0.5)
            if all(
                start + length + (CLEARANCE if micro or other else 0.2) <= a
                or start - (CLEARANCE if micro or other else 0.2) >= b
                for a, b, other in busy
            ):
                busy.append((start, start + length, micro))
                frames = (int(round(x * fps)) for x in (start, start + peak, start + length))
                events.append(Event(kind, *frames, expression))
                return
        raise ConfigError(
            f"the events asked for do not fit in {total} s (no room for a {kind}); lengthen the videos or ask "
            "for fewer events"
        )

    for _ in range(settings.face_absences):
        length = 2 * SLIDE + rng.uniform(1.0, 2.0)
        place("absence", length, length / 2)
    for _ in range(settings.macro_expressions):
        rise, fall = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)
        place("macro", rise + fall, rise, CLASSES[int(rng.integers(len(CLASSES)))])
    for _ in range(settings.head_turns):
        length = rng.uniform(0.8, 2.0)
        place("head_turn", length, length / 2)
    for _ in range(settings.micro_expressions):
        rise, fall = rng.uniform(0.05, 0.2), rng.uniform(0.05, 0.3)
        place("micro", rise + fall, rise, CLASSES[int(rng.integers(len(CLASSES)))])
    for _ in range(int(round(settings.blinks_per_minute * total / 60))):
        length = rng.uniform(0.08, 0.15)
        place("blink", length, 0.4 * length)
    return sorted(events, key=lambda e: e.onset)


class _Renderer:
    """Frames of one video, one at a time (a long video is never held whole)."""

    def __init__(self, subject: Subject, settings: LongVideoSettings, events: list[Event],
                 rng: np.random.Generator) -> None:
        self.subject, self.settings = subject, settings
        self.grey = cv2.cvtColor(subject.neutral, cv2.COLOR_RGB2GRAY).astype(np.float32)
        size = self.grey.shape[0]
        self.x, self.y = _grid(size)
        self.centre = subject.landmarks.mean(axis=0)
        self.eyelids = blink_field(subject)
        fps = settings.fps
        # every event's course over its own frames, and what it moves; drawn in a fixed order
        self.courses = []
        for event in events:
            t = np.arange(event.onset, event.offset + 1) / fps
            course = _raised_cosine(t, event.onset / fps, event.apex / fps, event.offset / fps)
            if event.kind == "micro":
                peak = settings.amplitude * rng.uniform(0.7, 1.0)
                self.courses.append((event, peak * course, expression_field(subject, event.expression, rng)))
            elif event.kind == "macro":
                field = expression_field(subject, event.expression, rng)
                self.courses.append((event, rng.uniform(3, 5) * course, field))
            elif event.kind == "blink":
                self.courses.append((event, course, self.eyelids))
            elif event.kind == "head_turn":
                sign = rng.choice([-1.0, 1.0], size=2)
                pose = (np.deg2rad(rng.uniform(3, 6)) * sign[0], rng.uniform(5, 15) * sign[1], rng.uniform(0.04, 0.08))
                self.courses.append((event, course, pose))
            else:  # absence: slide out, stay out, slide back
                side = rng.choice([-1.0, 1.0])
                slide = int(round(SLIDE * fps))
                out = np.clip(np.minimum(np.arange(len(t)) / slide, (len(t) - 1 - np.arange(len(t))) / slide), 0, 1)
                self.courses.append((event, 0.5 - 0.5 * np.cos(np.pi * out), side * 1.2 * size))
        count = int(round(settings.seconds * fps))
        t = np.arange(count) / fps
        tremor_frequency, tremor_phase = rng.uniform(0.2, 0.8, 2), rng.uniform(0, 2 * np.pi, 2)
        self.sway = 0.5 * np.sin(2 * np.pi * tremor_frequency[None] * t[:, None] + tremor_phase)
        self.flicker = 1 + settings.flicker * np.sin(2 * np.pi * rng.uniform(3, 15) * t + rng.uniform(0, 2 * np.pi))
        self.noise = np.random.default_rng(int(rng.integers(2**31)))
        self.count = count
        landmark_box = np.concatenate([subject.landmarks.min(axis=0), subject.landmarks.max(axis=0)])
        self.landmark_box = landmark_box

    def frame(self, i: int) -> tuple[np.ndarray, bool]:
        """Frame ``i`` (grey uint8) and whether the face is in view (75% of its landmark box inside)."""
        size = self.grey.shape[0]
        deformation = np.zeros((size, size, 2), np.float32)
        angle, shift, squeeze = 0.0, self.sway[i].copy(), 0.0
        for event, course, what in self.courses:
            if not event.onset <= i <= event.offset:
                continue
            value = float(course[i - event.onset])
            if event.kind in ("micro", "macro", "blink"):
                if value:
                    deformation += value * what
            elif event.kind == "head_turn":
                angle += value * what[0]
                shift[0] += value * what[1]
                squeeze += value * what[2]
            else:
                shift[0] += value * what
        cos, sin = np.cos(-angle), np.sin(-angle)
        dx = (self.x - self.centre[0] - shift[0]) / (1 - squeeze)
        dy = self.y - self.centre[1] - shift[1]
        map_x = cos * dx - sin * dy + self.centre[0] - deformation[..., 0]
        map_y = sin * dx + cos * dy + self.centre[1] - deformation[..., 1]
        maps = map_x.astype(np.float32), map_y.astype(np.float32)
        image = cv2.remap(self.grey, *maps, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        image = image * self.flicker[i] + self.settings.noise * self.noise.standard_normal(image.shape, np.float32)
        x0, y0, x1, y1 = self.landmark_box + np.concatenate([shift, shift])
        inside = max(0.0, min(x1, size) - max(x0, 0)) * max(0.0, min(y1, size) - max(y0, 0))
        return np.clip(image + 0.5, 0, 255).astype(np.uint8), bool(inside >= 0.75 * (x1 - x0) * (y1 - y0))


def write_long_videos(
    root: str | Path,
    settings: LongVideoSettings = LongVideoSettings(),
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the videos under ``root`` as a SAMM long videos copy (reused when already written with the same
    settings). ``progress(done, total)`` is called every 100 frames."""
    root = Path(root)
    expected = {"format_version": FORMAT_VERSION, "settings": dataclasses.asdict(settings)}
    manifest = root / MANIFEST
    if manifest.is_file():
        written = json.loads(manifest.read_text())
        if {k: written.get(k) for k in expected} == expected and written.get("complete"):
            return root
    elif (root / FRAMES).exists():
        raise ConfigError(f"{root} holds a SAMM long videos tree the generator did not write; choose an empty folder")
    root.mkdir(parents=True, exist_ok=True)
    write_json(manifest, {**expected, "complete": False})
    shutil.rmtree(root / FRAMES, ignore_errors=True)

    subject_settings = SyntheticSettings(frame_size=settings.frame_size, seed=settings.seed)
    subjects = make_subjects(subject_settings, numbers=range(1, settings.videos + 1))
    total = settings.videos * int(round(settings.seconds * settings.fps))
    rows, videos, done = [], {}, 0
    for subject in subjects:
        rng = np.random.default_rng([settings.seed, subject.number, 77])
        events = plan_video(settings, rng)
        renderer = _Renderer(subject, settings, events, rng)
        recording = f"{subject.number:03d}_1"
        folder = root / FRAMES / recording
        folder.mkdir(parents=True)
        absent = []
        for i in range(renderer.count):
            image, in_view = renderer.frame(i)
            if not in_view:
                absent.append(i)
            write_image(folder / f"{recording}_{i + 1:04d}.jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            done += 1
            if progress and done % 100 == 0:
                progress(done, total)
        for number, event in enumerate((e for e in events if e.kind in ("micro", "macro")), start=1):
            rows.append(
                [subject.number, f"{recording}_{number}", 1, event.onset + 1, event.apex + 1, event.offset + 1,
                 event.offset - event.onset + 1, MICRO if event.kind == "micro" else "Macro", EXPRESSIONS[
                     event.expression][1], "", EXPRESSIONS[event.expression][0]]
            )
        videos[recording] = {"events": [dataclasses.asdict(e) for e in events], "face_absent": _spans(absent)}
    header = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
              "Action Units", "Notes", "Estimated Emotion"]
    notes = [["microexp synthetic long videos; frames numbered from 1"] + [None] * (len(header) - 1)]
    notes += [[None] * len(header) for _ in range(HEADER_ROW - 1)]
    with atomic_path(root / SHEETS[0]) as temporary:
        pd.DataFrame([*notes, header, *rows]).to_excel(temporary, sheet_name=SHEET_NAME, header=False, index=False)
    write_json(manifest, {**expected, "videos": videos, "complete": True})  # last: the copy is whole
    return root


def _spans(frames: list[int]) -> list[list[int]]:
    """Sorted frame numbers as [first, last] runs."""
    spans: list[list[int]] = []
    for frame in frames:
        if spans and frame == spans[-1][1] + 1:
            spans[-1][1] = frame
        else:
            spans.append([frame, frame])
    return spans


def read_events(root: str | Path) -> dict[str, list[Event]]:
    """Every event of every written video, by recording name, from the manifest."""
    manifest = json.loads((Path(root) / MANIFEST).read_text())
    return {name: [Event(**e) for e in video["events"]] for name, video in manifest["videos"].items()}


class SyntheticLongVideos(SAMMLong):
    """The written copy, read as SAMM long videos at the frame rate its manifest records."""

    name = "synthetic-long"
    title = "Synthetic long videos"
    description = "synthetic long videos with micro-expressions among distractors (microexp); SAMM long layout"
    label_maps = {"3class": SyntheticMicroExpressions.label_maps["3class"], "micro": SAMMLong.label_maps["micro"]}
    default_label_map = "3class"
    default_splitter = "loso"

    def __init__(self, root=None, *, sheet=None, fps: float | None = None):
        manifest = Path(root) / MANIFEST if root is not None else None
        if fps is None and manifest is not None:
            if not manifest.is_file():
                raise DataNotFoundError(
                    f"{self.title}: {manifest} does not exist; write the videos with write_long_videos first"
                )
            fps = json.loads(manifest.read_text())["settings"]["fps"]
        super().__init__(root, sheet=sheet, fps=fps)
