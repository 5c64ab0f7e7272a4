"""FER-2013 (Goodfellow et al. 2013): 35,887 grey 48x48 faces from the web, 7 classes, in one csv.

Layout (``root``)::

    fer2013.csv      header emotion,pixels,Usage; pixels = 2304 space-separated 0-255 values, row-major

Emotion codes: 0 anger, 1 disgust, 2 fear, 3 happy, 4 sadness, 5 surprise, 6 neutral. ``Usage`` is the
official split: Training (28,709), PublicTest (3,589; the validation set), PrivateTest (3,589; the test set),
the default splitter ``official`` (:class:`~microexp.data.splitters.OfficialSplit`). The release names no
person, so each image is its own subject: subject-wise splitters then split by image.
"""

from __future__ import annotations

import numpy as np

from microexp.data.base import LabelMap, StillImageAdapter, read_sheet
from microexp.errors import DataError

CODES = ("anger", "disgust", "fear", "happy", "sadness", "surprise", "neutral")
SPLITS = ("Training", "PublicTest", "PrivateTest")
SIDE = 48


class FER2013(StillImageAdapter):
    name = "fer2013"
    title = "FER-2013"
    description = "FER-2013: 35,887 48x48 faces, 7 classes, official Training/PublicTest/PrivateTest split"
    layout = "fer2013.csv (emotion,pixels,Usage)"
    default_sheets = ("fer2013.csv",)
    has_sheet = True
    label_maps = {"7class": LabelMap("7class", CODES, {w: w for w in CODES}, "the 7 classes of the csv")}
    default_label_map = "7class"
    default_splitter = "official"
    face_geometry = "as-cropped"  # 48x48 face crops

    def read_clips(self) -> list[dict]:
        rows = []
        for path in self.sheet_paths():
            frame = read_sheet(path, title=self.title, required=("emotion", "pixels", "Usage"))
            for number, record in enumerate(frame.to_dict("records")):
                where = f"{path.name} line {number + 2}"  # line 1 is the header
                rows.append(
                    {
                        "subject": f"{path.stem}-{number:05d}",
                        "clip": f"{number:05d}",
                        "emotion": _emotion(record["emotion"], where),
                        "onset": None,
                        "apex": None,
                        "offset": None,
                        "aus": "",
                        "sheet": where,
                        "split": _split(record["Usage"], where),
                        "apex_image": _pixels(record["pixels"], where),
                    }
                )
        return rows


def _emotion(value: object, where: str) -> str:
    try:
        code = int(value)
    except (TypeError, ValueError):
        code = -1
    if not 0 <= code < len(CODES):
        raise DataError(f"FER-2013 {where}: emotion {value!r} is not a code 0..6 ({', '.join(CODES)})")
    return CODES[code]


def _split(value: object, where: str) -> str:
    if value not in SPLITS:
        raise DataError(f"FER-2013 {where}: Usage {value!r} is not one of {SPLITS}")
    return str(value)


def _pixels(value: object, where: str) -> np.ndarray:
    try:
        pixels = np.array(str(value).split(), dtype=np.int64)
    except ValueError:
        pixels = np.array([])
    if pixels.size != SIDE * SIDE or pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255:
        raise DataError(
            f"FER-2013 {where}: pixels must be {SIDE * SIDE} space-separated integers 0-255, "
            f"found {pixels.size} values"
        )
    return pixels.astype(np.uint8).reshape(SIDE, SIDE)
