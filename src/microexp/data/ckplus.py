"""CK+, the extended Cohn-Kanade database (Lucey et al. 2010): posed sequences from neutral to the peak of
one emotion, 123 subjects, 593 sequences of which 327 carry an emotion label.

Official layout (``root``)::

    cohn-kanade-images/S005/001/S005_001_00000001.png    640x490 frames, first frame neutral
    Emotion/S005/001/S005_001_00000011_emotion.txt       one float code, e.g. "3.0000000e+00"

Emotion codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise. As is usual,
the last ``peak_frames`` (3) frames of each labelled sequence are its expression images and the first frame
is a neutral image (kept by the ``8class`` protocol only).

CK+48 layout (``root``, the common 48x48 face-crop release)::

    anger/S010_004_00000017.png                          <emotion>/<subject>_<sequence>_<frame>.png

981 images (the last three frames of the 327 labelled sequences), 118 subjects. Frames of one sequence are
near-duplicates: evaluate with folds by subject (:class:`~microexp.data.protocols.SubjectKFold`).
"""

from __future__ import annotations

import re
from pathlib import Path

from microexp.data.base import FRAME_SUFFIXES, Protocol, StillImageAdapter, frame_number, image_row
from microexp.errors import DataError, DataNotFoundError

CODES = ("neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
EMOTIONS = CODES[1:]
_IMAGE_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)$")


def _protocols(with_neutral: bool) -> dict[str, Protocol]:
    words = CODES if with_neutral else EMOTIONS
    protocols = {
        "7class": Protocol(
            "7class", EMOTIONS, {w: (w if w != "neutral" else None) for w in words}, "the 7 emotions of CK+"
        ),
        "6class": Protocol(
            "6class",
            tuple(e for e in EMOTIONS if e != "contempt"),
            {w: (w if w not in ("neutral", "contempt") else None) for w in words},
            "the 6 basic emotions (contempt dropped)",
        ),
    }
    if with_neutral:
        protocols["8class"] = Protocol(
            "8class", CODES, {w: w for w in words}, "7 emotions plus neutral (each sequence's first frame)"
        )
    return protocols


def read_emotion_file(path: Path) -> str:
    """The emotion word of a CK+ label file, whose content is one float code such as ``3.0000000e+00``."""
    text = path.read_text().strip()
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


class CKPlus(StillImageAdapter):
    name = "ckplus"
    title = "CK+"
    description = "CK+ official release: 327 labelled sequences, last 3 frames as peak, first frame neutral"
    layout = "cohn-kanade-images/S005/001/S005_001_00000001.png + Emotion/S005/001/S005_001_*_emotion.txt"
    protocols = _protocols(with_neutral=True)
    default_protocol = "7class"

    def __init__(
        self,
        root=None,
        *,
        sheet=None,
        peak_frames: int = 3,
        crop_faces: bool = False,
        crop_size: int = 48,
        face_backend: str = "dlib",
    ):
        super().__init__(
            root, sheet=sheet, crop_faces=crop_faces, crop_size=crop_size, face_backend=face_backend
        )
        self.peak_frames = peak_frames

    def read_clips(self) -> list[dict]:
        root = self.require_root()
        labels = sorted((root / "Emotion").glob("S*/*/*_emotion.txt"))
        if not labels:
            raise DataNotFoundError(
                f"CK+: no label files under {root / 'Emotion'}; expected layout {self.layout}"
            )
        rows = []
        for label_file in labels:
            subject, sequence = label_file.parts[-3:-1]
            emotion = read_emotion_file(label_file)
            folder = root / "cohn-kanade-images" / subject / sequence
            frames = (
                sorted((frame_number(p), p) for p in folder.glob("*") if p.suffix.lower() in FRAME_SUFFIXES)
                if folder.is_dir()
                else []
            )
            if not frames:
                raise DataNotFoundError(
                    f"CK+ label file {label_file}: its sequence folder {folder} holds no frames; "
                    f"expected layout {self.layout}"
                )
            paths = [p for _, p in frames]
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
    protocols = _protocols(with_neutral=False)
    default_protocol = "7class"

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
            # The folder is the label; a folder name no protocol knows is reported by the protocol check.
            rows.append(
                image_row(match.group(1), path, path.parent.name.lower(), root, sequence=match.group(2))
            )
        if not rows:
            raise DataNotFoundError(f"CK+48: no images under {root}; expected layout {self.layout}")
        return rows
