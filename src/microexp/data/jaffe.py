"""JAFFE, the Japanese Female Facial Expression database (Lyons et al. 1998): 213 grey 256x256 photographs of
10 women posing 7 expressions.

Layout (``root``)::

    KA.AN1.39.tiff      <subject>.<emotion code><repetition>.<image number>.tiff

Emotion codes: AN anger, DI disgust, FE fear, HA happy, NE neutral, SA sadness, SU surprise. The photos show
the head and shoulders: load with ``crop_faces=True`` for the 48x48 face crops expression models take.
The usual protocol with 10 subjects is leave-one-subject-out.
"""

from __future__ import annotations

import re

from microexp.data.base import Protocol, StillImageAdapter, image_row
from microexp.errors import DataError, DataNotFoundError

CODES = {
    "AN": "anger",
    "DI": "disgust",
    "FE": "fear",
    "HA": "happy",
    "NE": "neutral",
    "SA": "sadness",
    "SU": "surprise",
}
_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})(\d+)\.(\d+)$")


class JAFFE(StillImageAdapter):
    name = "jaffe"
    title = "JAFFE"
    description = "JAFFE: 213 photos, 10 subjects, 7 expressions (6 basic + neutral); crop_faces for 48x48"
    layout = "KA.AN1.39.tiff (<subject>.<emotion><n>.<image>.tiff)"
    protocols = {
        "7class": Protocol(
            "7class", tuple(CODES.values()), {w: w for w in CODES.values()}, "6 basic + neutral"
        ),
        "6class": Protocol(
            "6class",
            tuple(w for w in CODES.values() if w != "neutral"),
            {w: (None if w == "neutral" else w) for w in CODES.values()},
            "the 6 basic emotions (neutral dropped)",
        ),
    }
    default_protocol = "7class"

    def read_clips(self) -> list[dict]:
        root = self.require_root()
        rows = []
        for path in sorted(root.iterdir()):
            if path.suffix.lower() not in (".tiff", ".tif"):
                continue
            match = _NAME.match(path.stem)
            if match is None or match.group(2) not in CODES:
                raise DataError(
                    f"JAFFE: image {path.name} is not named <subject>.<emotion><n>.<image>.tiff like "
                    f"KA.AN1.39.tiff with an emotion code in {sorted(CODES)}"
                )
            rows.append(image_row(match.group(1), path, CODES[match.group(2)], root))
        if not rows:
            raise DataNotFoundError(f"JAFFE: no .tiff images in {root}; expected layout {self.layout}")
        return rows
