"""JAFFE, the Japanese Female Facial Expression database (Lyons et al. 1998): 213 grey 256x256 photographs of
10 women posing 7 expressions.

Layout (``root``)::

    KA.AN1.39.tiff      <subject>.<emotion code><repetition>.<image number>.tiff

Emotion codes: AN anger, DI disgust, FE fear, HA happy, NE neutral, SA sadness, SU surprise. The photos show
the head and shoulders, so the adapter declares ``face_geometry = "detect"``: the apex builder crops every
face (``--set inputs.still_faces=as-given`` keeps the whole photographs).
With 10 subjects, evaluate by subject: the default is 5 folds of two women each (see ``JAFFE``).
"""

from __future__ import annotations

import re
from types import MappingProxyType

from microexp.data.base import LabelMap, StillImageAdapter, image_row
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
    description = "JAFFE: 213 photos, 10 subjects, 7 expressions (6 basic + neutral); faces cropped from the photos"
    layout = "KA.AN1.39.tiff (<subject>.<emotion><n>.<image>.tiff)"
    label_maps = {
        "7class": LabelMap(
            "7class", tuple(CODES.values()), {w: w for w in CODES.values()}, "6 basic + neutral"
        ),
        "6class": LabelMap(
            "6class",
            tuple(w for w in CODES.values() if w != "neutral"),
            {w: (None if w == "neutral" else w) for w in CODES.values()},
            "the 6 basic emotions (neutral dropped)",
        ),
    }
    default_label_map = "7class"
    default_splitter = "subject-kfold"
    # SubjectKFold needs at least n_splits subjects. Its default of 10 would need every one of the 10 women
    # in the table (any copy or label map that loses one fails); 5 folds of two women each leaves that
    # margin and still trains on 8 of the 10. Choose splitter "loso" to compare with leave-one-subject-out.
    default_splitter_options = MappingProxyType({"n_splits": 5})
    face_geometry = "detect"  # head-and-shoulders photographs: the face is cropped from each

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
