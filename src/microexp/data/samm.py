"""SAMM (Davison et al. 2018): 29 subjects, 159 micro-expressions at 200 fps.

Layout (``root``)::

    SAMM_Micro_FACS_Codes_v2.xlsx       13 lines of notes, the header on row 14
    006/006_1_2/006_05562.jpg           <subject>/<clip>/<subject>_<frame, 5 digits>.jpg

The owners ship the full 2040x1088 frames; the cropped copy the MEGC challenges used (and the composite's
flows were made from) has the same layout in a folder usually named ``SAMM_CROP`` or ``SAMM_Cropped``. Its
frames are face crops, resized whole (``face_geometry`` "as-cropped"); the full frames have their face
detected. ``cropped=None`` (default) tells them apart by the folder's name (it contains "crop");
``cropped=True`` or ``False`` says it outright.
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import DatabaseAdapter, Fix, LabelMap, SheetColumns

SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"
HEADER_ROW = 13  # zero-based: the v2 sheet opens with 13 lines of notes
EMOTIONS = ("anger", "contempt", "happiness", "surprise", "other", "disgust", "fear", "sadness")


class SAMM(DatabaseAdapter):
    name = "samm"
    title = "SAMM"
    description = "SAMM: 29 subjects, 159 micro-expressions, 200 fps; FACS codes sheet v2"
    layout = "006/006_1_2/006_05562.jpg"
    default_sheets = (SHEET,)
    sheet_columns = SheetColumns(onset="Onset Frame", apex="Apex Frame", offset="Offset Frame")
    sheet_header_row = HEADER_ROW
    label_maps = {
        "5class": LabelMap(
            "5class",
            ("anger", "contempt", "happiness", "surprise", "other"),
            {e: (None if e in ("disgust", "fear", "sadness") else e) for e in EMOTIONS},
            "the usual 5 classes; disgust (9), fear (8) and sadness (6) are too rare and dropped",
        ),
        "megc2019": LabelMap(
            "megc2019",
            ("negative", "positive", "surprise"),
            {
                **dict.fromkeys(("anger", "contempt", "disgust", "fear", "sadness"), "negative"),
                "happiness": "positive",
                "surprise": "surprise",
                "other": None,
            },
            "SAMM part of the MEGC2019 composite",
        ),
    }
    default_label_map = "5class"
    default_splitter = "loso"
    fixes = {
        ("032", "032_3_1"): (
            Fix(
                "apex",
                1930,
                4930,
                "apex 1930 is outside onset–offset 4896–4970; a dropped leading 4 (4930 fits)",
            ),
        ),
        ("028", "028_4_1"): (
            Fix(
                "apex",
                1143,
                1134,
                "apex 1143 is after the offset 1134, which the Duration column (64) confirms; "
                "apex clamped to the offset",
            ),
        ),
    }

    def __init__(self, root=None, *, sheet=None, cropped: bool | None = None):
        super().__init__(root, sheet=sheet)
        if cropped is None:
            cropped = self.root is not None and "crop" in self.root.name.lower()
        self.face_geometry = "as-cropped" if cropped else "detect"

    @staticmethod
    def subject_name(value: object) -> str:
        return f"{int(value):03d}"  # SAMM folders are zero-padded (006); the sheet writes a number

    def clip_dir(self, row: dict) -> Path:
        return self.root / row["subject"] / row["clip"]
