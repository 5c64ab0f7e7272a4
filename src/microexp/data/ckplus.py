"""CK+, the extended Cohn-Kanade database (Lucey et al. 2010): posed sequences from neutral to the peak of
one emotion, 123 subjects, 593 sequences of which 327 carry an emotion label.

Official layout (``root``)::

    cohn-kanade-images/S005/001/S005_001_00000001.png    640x490 frames, first frame neutral
    Emotion/S005/001/S005_001_00000011_emotion.txt       one float code, e.g. "3.0000000e+00"

Emotion codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise.

Two readings of the release:

- ``ckplus`` (:class:`CKPlus`): each labelled sequence is one clip, like a micro-expression clip: every frame
  from the neutral first frame (onset) to the peak, the last frame (apex = offset, and ``apex_path``).
- ``ckplus-stills`` (:class:`CKPlusStills`): the usual still-image reading, the last ``peak_frames`` (3)
  frames of each labelled sequence as expression images and the first frame as a neutral image (kept by
  the ``8class`` label map only).

CK+48 layout (``root``, the common 48x48 face-crop release)::

    anger/S010_004_00000017.png                          <emotion>/<subject>_<sequence>_<frame>.png

981 images (the last three frames of the 327 labelled sequences), 118 subjects.

Frames of one sequence are near-duplicates, and one subject posed several sequences: evaluate all three with
folds by subject (:class:`~microexp.data.splitters.SubjectKFold`). The ``megc3`` label map gives the
MEGC2019 composite's classes, so these posed macro-expressions can be added to micro-expression training.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from microexp.data.base import (
    FRAME_SUFFIXES,
    DatabaseAdapter,
    LabelMap,
    StillImageAdapter,
    frame_number,
    image_row,
    numbered_frames,
)
from microexp.data.megc2019 import CLASSES as MEGC2019_CLASSES
from microexp.errors import DataError, DataNotFoundError
from microexp.textfiles import read_text

CODES = ("neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
EMOTIONS = CODES[1:]
MEGC3 = {
    **dict.fromkeys(("anger", "contempt", "disgust", "fear", "sadness"), "negative"),
    "happy": "positive",
    "surprise": "surprise",
}
_IMAGE_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)$")
LAYOUT = "cohn-kanade-images/S005/001/S005_001_00000001.png + Emotion/S005/001/S005_001_*_emotion.txt"


def _label_maps(with_neutral: bool) -> dict[str, LabelMap]:
    words = CODES if with_neutral else EMOTIONS
    maps = {
        "7class": LabelMap(
            "7class", EMOTIONS, {w: (w if w != "neutral" else None) for w in words}, "the 7 emotions of CK+"
        ),
        "6class": LabelMap(
            "6class",
            tuple(e for e in EMOTIONS if e != "contempt"),
            {w: (w if w not in ("neutral", "contempt") else None) for w in words},
            "the 6 basic emotions (contempt dropped)",
        ),
        "megc3": LabelMap(
            "megc3",
            MEGC2019_CLASSES,
            {w: MEGC3.get(w) for w in words},
            "the MEGC2019 composite's classes: negative = anger, contempt, disgust, fear, sadness; "
            "positive = happy; surprise",
        ),
    }
    if with_neutral:
        maps["8class"] = LabelMap(
            "8class", CODES, {w: w for w in words}, "7 emotions plus neutral (each sequence's first frame)"
        )
    return maps


def read_emotion_file(path: Path) -> str:
    """The emotion word of a CK+ label file, whose content is one float code such as ``3.0000000e+00``."""
    text = read_text(path, "CK+ label file").strip()
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value != int(value) or not 1 <= value <= 7:
        raise DataError(
            f"CK+ label file {path}: expected one emotion code 1..7 written as a float (e.g. 3.0000000e+00), "
            f"found {text[:40]!r}"
        )
    return CODES[int(value)]


def labelled_sequences(root: Path) -> Iterator[tuple[Path, str, str, str, list[Path]]]:
    """(label file, subject, sequence, emotion, frame paths in frame order) of every labelled sequence of
    the official layout under ``root``; unlabelled sequences are left out."""
    labels = sorted((root / "Emotion").glob("S*/*/*_emotion.txt"))
    if not labels:
        raise DataNotFoundError(f"CK+: no label files under {root / 'Emotion'}; expected layout {LAYOUT}")
    for label_file in labels:
        subject, sequence = label_file.parts[-3:-1]
        emotion = read_emotion_file(label_file)
        folder = root / "cohn-kanade-images" / subject / sequence
        paths = [path for _, path in numbered_frames(folder)] if folder.is_dir() else []
        if not paths:
            raise DataNotFoundError(
                f"CK+ label file {label_file}: its sequence folder {folder} holds no frames; expected layout {LAYOUT}"
            )
        yield label_file, subject, sequence, emotion, paths


class CKPlus(DatabaseAdapter):
    """One clip per labelled sequence, neutral first frame (onset) to peak (apex = offset)."""

    name = "ckplus"
    title = "CK+"
    description = "CK+ official release: 327 labelled sequences, each one clip from the neutral frame to the peak"
    layout = LAYOUT
    default_sheets = ()
    has_sheet = False
    label_maps = _label_maps(with_neutral=False)  # a sequence shows one emotion: no neutral class
    default_label_map = "7class"
    default_splitter = "subject-kfold"
    face_geometry = "detect"  # 640x490 photographs of head and shoulders: flows and the peak face need the face

    def read_clips(self) -> list[dict]:
        root = self.require_root()
        rows = []
        for label_file, subject, sequence, emotion, paths in labelled_sequences(root):
            peak = frame_number(paths[-1])
            rows.append(
                {
                    "subject": subject,
                    "clip": sequence,
                    "emotion": emotion,
                    "onset": frame_number(paths[0]),
                    "apex": peak,
                    "offset": peak,
                    "aus": "",
                    "sheet": str(label_file.relative_to(root)),
                    "apex_path": str(paths[-1]),  # so that apex-image models read the peak face
                }
            )
        return rows

    def clip_dir(self, row: dict) -> Path:
        return self.root / "cohn-kanade-images" / row["subject"] / row["clip"]


class CKPlusStills(StillImageAdapter):
    """The last ``peak_frames`` frames of each labelled sequence as images, the first frame as neutral."""

    name = "ckplus-stills"
    title = "CK+ stills"
    description = "CK+ official release as stills: last 3 frames of 327 sequences as peak, first frame neutral"
    layout = LAYOUT
    label_maps = _label_maps(with_neutral=True)
    default_label_map = "7class"
    default_splitter = "subject-kfold"
    face_geometry = "detect"  # full 640x490 photographs: the face is cropped from each

    def __init__(self, root=None, *, sheet=None, peak_frames: int = 3):
        super().__init__(root, sheet=sheet)
        self.peak_frames = peak_frames

    def read_clips(self) -> list[dict]:
        root = self.require_root()
        rows = []
        for _, subject, sequence, emotion, paths in labelled_sequences(root):
            peak = paths[-self.peak_frames :]
            rows += [image_row(subject, p, emotion, root, sequence=sequence) for p in peak]
            if len(paths) > self.peak_frames:  # a sequence this short has no frame left to call neutral
                rows.append(image_row(subject, paths[0], "neutral", root, sequence=sequence))
        return rows


class CKPlus48(StillImageAdapter):
    name = "ckplus48"
    title = "CK+48"
    description = "CK+48: 981 48x48 grey faces (last 3 frames of 327 sequences), 7 emotions, 118 subjects"
    layout = "anger/S010_004_00000017.png (<emotion>/<subject>_<sequence>_<frame>.png)"
    label_maps = _label_maps(with_neutral=False)
    default_label_map = "7class"
    default_splitter = "subject-kfold"
    face_geometry = "as-cropped"  # 48x48 face crops already

    def read_clips(self) -> list[dict]:
        root = self.require_root()
        rows = []
        for path in sorted(root.glob("*/*")):
            if path.suffix.lower() not in FRAME_SUFFIXES:
                continue
            match = _IMAGE_NAME.match(path.stem)
            if match is None:
                raise DataError(
                    f"CK+48: image {path} is not named <subject>_<sequence>_<frame> "
                    "like S010_004_00000017.png; "
                    "the subject, needed for subject-wise folds, comes from the name"
                )
            # The folder is the label; a folder name no label map knows is reported by the label map check.
            rows.append(image_row(match.group(1), path, path.parent.name.lower(), root, sequence=match.group(2)))
        if not rows:
            raise DataNotFoundError(f"CK+48: no images under {root}; expected layout {self.layout}")
        return rows
