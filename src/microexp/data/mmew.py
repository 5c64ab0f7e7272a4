"""MMEW (Ben et al. 2021): 36 subjects, 300 micro-expressions at 90 fps (+ macro-expressions).

Layout (``root``)::

    MMEW_Micro_Exp.xlsx                               Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
                                                      Action Units, Estimated Emotion
    Micro_Expression/happiness/S01-01-001/15.jpg      Micro_Expression/<emotion>/<clip>/<frame>.jpg

The official sheet is not public; a derived list with the same columns (234 clips, "others" removed,
``HTNet_MMEW_Micro_Exp_delete_others.csv``) can be passed as ``sheet``.
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import DatabaseAdapter, LabelMap, SheetColumns

SHEET = "MMEW_Micro_Exp.xlsx"
SIX = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")


class MMEW(DatabaseAdapter):
    name = "mmew"
    title = "MMEW"
    description = "MMEW: 36 subjects, 300 micro-expressions, 90 fps; 6 or 3 classes (others dropped)"
    layout = "Micro_Expression/happiness/S01-01-001/15.jpg"
    default_sheets = (SHEET,)
    sheet_columns = SheetColumns()
    label_maps = {
        "6class": LabelMap(
            "6class", SIX, {**{e: e for e in SIX}, "others": None}, "six emotions; others dropped"
        ),
        "3class": LabelMap(
            "3class",
            ("negative", "positive", "surprise"),
            {
                **dict.fromkeys(("anger", "disgust", "fear", "sadness"), "negative"),
                "happiness": "positive",
                "surprise": "surprise",
                "others": None,
            },
            "negative = anger, disgust, fear, sadness; positive = happiness; surprise; others dropped",
        ),
    }
    default_label_map = "6class"
    default_splitter = "loso"

    @staticmethod
    def subject_name(value: object) -> str:
        return f"S{int(value):02d}"

    def clip_dir(self, row: dict) -> Path:
        return self.root / "Micro_Expression" / row["emotion"] / row["clip"]
